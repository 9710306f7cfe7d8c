// --trace shows our loop at work on stderr: what select(), poll() or epoll is handed and returns,
// and every action.
import { afterAll, afterEach, describe, expect, it, type TestContext } from 'vitest';
import { destroyAllClients, LineClient } from '../helpers/line-client.js';
import { ENGINES, killLeftovers, startServer, type ServerProcess } from '../helpers/server.js';

/** Escapes text for use inside a RegExp. */
const literal = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The fds of a printed set: "{14,18}" → [14, 18]. */
const fdSet = (text: string): number[] => (text === '{}' ? [] : text.slice(1, -1).split(',').map(Number));

describe.each(ENGINES)('--trace (engine %s)', (engine) => {
  afterEach(async () => {
    destroyAllClients();
    await killLeftovers();
  });
  afterAll(killLeftovers);

  /** A traced echo server, for the select engine only (libuv has no select sets to print). */
  async function traced(ctx: TestContext): Promise<{ server: ServerProcess; listenFd: number }> {
    ctx.skip(engine !== 'select', `these lines are select()'s sets; the ${engine} engine traces its own call`);
    const server = await startServer(engine, ['--mode', 'echo', '--trace']);
    const [, fd] = await server.waitForStderr(new RegExp(`^fd (\\d+) is the listening socket on ${literal(server.host)}:${server.port}$`));
    return { server, listenFd: Number(fd) };
  }

  /** Connects a client and returns it with the fd the server's trace says it accepted. */
  async function accepted(server: ServerProcess): Promise<{ client: LineClient; fd: number }> {
    const client = await LineClient.connect(server.host, server.port);
    const [, fd] = await server.waitForStderr(new RegExp(`^accepted fd (\\d+) from 127\\.0\\.0\\.1:${client.localPort}$`));
    return { client, fd: Number(fd) };
  }

  it('prints select(nfds=…) rounds whose read set holds the listening fd and Node\'s epoll fd', async (ctx) => {
    const { server, listenFd } = await traced(ctx);
    const [, nodeFd] = await server.waitForStderr(/^fd (\d+) is Node's own event loop \(libuv's epoll fd\): readable = Node has work$/);
    const [, nfds, read, write] = await server.waitForStderr(/^select\(nfds=(\d+), read=(\{[\d,]*\}), write=(\{[\d,]*\}), timeout=none\)$/);
    expect(fdSet(read!)).toContain(listenFd);
    expect(fdSet(read!)).toContain(Number(nodeFd));
    expect(fdSet(write!)).toEqual([]);
    expect(Number(nfds)).toBe(Math.max(...fdSet(read!)) + 1);
  });

  it('prints "accepted fd N from 127.0.0.1:PORT" with the client\'s port, and the listener was what select() reported ready', async (ctx) => {
    const { server, listenFd } = await traced(ctx);
    const { fd } = await accepted(server);
    expect(fd).toBeGreaterThan(2);
    expect(server.stderr).toMatch(new RegExp(`^  → after \\d+\\.\\d{3} ms, \\d+ ready: read=\\{(\\d+,)*${listenFd}(,\\d+)*\\}, write=\\{\\}$`, 'm'));
    // The next round watches the new fd too.
    const [, read] = await server.waitForStderr(new RegExp(`^select\\(nfds=\\d+, read=(\\{[\\d,]*\\b${fd}\\b[\\d,]*\\}), write=\\{\\}, timeout=none\\)$`));
    expect(fdSet(read!)).toContain(listenFd);
  });

  it('a merged write of two lines shows "fd N readable: recv X bytes → 2 lines, 0 bytes kept" and the round-end send', async (ctx) => {
    const { server } = await traced(ctx);
    const { client, fd } = await accepted(server);
    await client.send('one\ntwo\n');
    await client.expectLine('one');
    await client.expectLine('two');
    await server.waitForStderr(new RegExp(`^fd ${fd} readable: recv 8 bytes → 2 lines, 0 bytes kept$`));
    await server.waitForStderr(new RegExp(`^fd ${fd} round end: sent 8 of 8 queued$`));
  });

  it('an unfinished line shows the bytes kept', async (ctx) => {
    const { server } = await traced(ctx);
    const { client, fd } = await accepted(server);
    await client.send('abc');
    await server.waitForStderr(new RegExp(`^fd ${fd} readable: recv 3 bytes → 0 lines, 3 bytes kept$`));
    await client.send('\n');
    await server.waitForStderr(new RegExp(`^fd ${fd} readable: recv 1 bytes? → 1 line, 0 bytes kept$`));
    await client.expectLine('abc');
  });

  it('a close shows "fd N readable: recv → 0 bytes: EOF" and "fd N closed (closed)"', async (ctx) => {
    const { server } = await traced(ctx);
    const { client, fd } = await accepted(server);
    client.end();
    await server.waitForStderr(new RegExp(`^fd ${fd} readable: recv → 0 bytes: EOF, the peer closed$`));
    await server.waitForStderr(new RegExp(`^fd ${fd} closed \\(closed\\)$`));
    await client.closed();
  });

  it('an RST shows "fd N ECONNRESET" and "fd N closed (connection reset)"', async (ctx) => {
    const { server } = await traced(ctx);
    const { client, fd } = await accepted(server);
    await client.send('partial');
    await server.waitForStderr(new RegExp(`^fd ${fd} readable: recv 7 bytes → 0 lines, 7 bytes kept$`));
    client.destroyWithReset();
    await server.waitForStderr(new RegExp(`^fd ${fd} ECONNRESET$`));
    await server.waitForStderr(new RegExp(`^fd ${fd} closed \\(connection reset\\)(, 7 bytes of an unfinished line dropped)?$`));
  });

  it('poll: every call hands over the whole pollfd array, and the answer shows each ready fd\'s events → revents', async (ctx) => {
    ctx.skip(engine !== 'poll', 'poll() lines, for the poll engine');
    const server = await startServer(engine, ['--mode', 'echo', '--trace']);
    const [, listenFd] = await server.waitForStderr(/^fd (\d+) is the listening socket/);
    const client = await LineClient.connect(server.host, server.port);
    const [, fd] = await server.waitForStderr(new RegExp(`^accepted fd (\\d+) from 127\\.0\\.0\\.1:${client.localPort}$`));
    expect(server.stderr).toMatch(new RegExp(`^  → after \\d+\\.\\d{3} ms, \\d+ ready: \\[(\\d+:\\S+, )*${listenFd}:IN→IN(, \\d+:\\S+)*\\]$`, 'm'));
    await client.send('x\n');
    await client.expectLine('x');
    const [call] = await server.waitForStderr(new RegExp(`^poll\\(nfds=3, fds=\\[.*\\b${fd}:IN\\b.*\\], timeout=(none|\\d+(\\.\\d)? ms)\\)$`));
    expect(call).toContain(`${listenFd}:IN`);
    await server.waitForStderr(new RegExp(`^  → after \\d+\\.\\d{3} ms, \\d+ ready: \\[(\\d+:\\S+, )*${fd}:IN→IN(, \\d+:\\S+)*\\]$`));
  });

  it('epoll: interest goes to the kernel once per change (epoll_ctl); each epoll_wait() hands over nothing but room for answers', async (ctx) => {
    ctx.skip(engine !== 'epoll', 'epoll lines, for the epoll engine');
    const server = await startServer(engine, ['--mode', 'echo', '--trace']);
    const [, listenFd] = await server.waitForStderr(/^fd (\d+) is the listening socket/);
    await server.waitForStderr(new RegExp(`^epoll_ctl\\(ADD, ${listenFd}, IN\\)$`));
    await server.waitForStderr(/^epoll_wait\(epfd=\d+, maxevents=\d+, timeout=none\)$/);
    const client = await LineClient.connect(server.host, server.port);
    const [, fd] = await server.waitForStderr(new RegExp(`^accepted fd (\\d+) from 127\\.0\\.0\\.1:${client.localPort}$`));
    await server.waitForStderr(new RegExp(`^epoll_ctl\\(ADD, ${fd}, IN\\)$`));
    await client.send('x\n');
    await client.expectLine('x');
    await server.waitForStderr(new RegExp(`^  → after \\d+\\.\\d{3} ms, \\d+ ready: \\[(\\d+:\\S+, )*${fd}:IN(, \\d+:\\S+)*\\]$`));
    client.end();
    await server.waitForStderr(new RegExp(`^epoll_ctl\\(DEL, ${fd}, -\\)$`));
    await server.waitForStderr(new RegExp(`^fd ${fd} closed \\(closed\\)$`));
  });

  it('without --trace, stderr stays empty', async () => {
    const server = await startServer(engine, ['--mode', 'echo']);
    const client = await LineClient.connect(server.host, server.port);
    await client.send('x\n');
    await client.expectLine('x');
    expect(server.stderr).toBe('');
  });
});
