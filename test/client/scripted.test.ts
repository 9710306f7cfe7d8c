// `selectchat connect` in scripted mode (stdin and stdout are pipes), end to end: a real server
// child on each engine, the client as a child on each of its engines, another person on a socket.
import { afterEach, describe, expect, it } from 'vitest';
import { CLIENT_ENGINES, Peer, ENGINE_PAIRS, closedPort, finished, printed, runClient, spawnClient, startServer, type ServerChild } from './chat-processes.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function server(engine: string, extra: string[] = []): Promise<ServerChild> {
  const started = await startServer(engine, extra);
  cleanups.push(() => started.stop());
  return started;
}

async function peer(at: ServerChild, nick?: string): Promise<Peer> {
  const joined = await Peer.join(at, nick);
  cleanups.push(() => joined.close());
  return joined;
}

/** The lines of a text that ends with '\n'. */
const lines = (text: string): string[] => text.split('\n').slice(0, -1);

describe.each(ENGINE_PAIRS)('server engine %s, client engine %s', (serverEngine, clientEngine) => {
  const args = (at: ServerChild, ...more: string[]): string[] => ['--port', String(at.port), '--engine', clientEngine, ...more];

  it('takes the nick first, sends each stdin line, prints each received line as it comes', async () => {
    const at = await server(serverEngine);
    const alice = await peer(at, 'alice');
    const client = spawnClient(args(at, '--nick', 'bob'));
    cleanups.push(() => client.kill('SIGKILL'));
    const run = finished(client);
    client.stdin!.write('hello, alice\n/me waves\n');
    await alice.waitFor((line) => line === '[bob] *waves*');
    alice.send('hi bob');
    await printed(client, '[alice] hi bob\n');
    client.stdin!.end();
    const { code, stdout, stderr } = await run;
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(lines(stdout)).toEqual([
      expect.stringMatching(/^\* welcome guest-\d+, 2 users online; \/help for commands$/),
      expect.stringMatching(/^\* guest-\d+ is now bob$/),
      '[alice] hi bob',
    ]);
    await alice.waitFor((line) => line === '* bob left (quit)');
    // After alice's own welcome and rename: bob joins, is renamed first, speaks, leaves.
    expect(alice.lines.slice(2)).toEqual([
      expect.stringMatching(/^\* guest-\d+ joined$/),
      expect.stringMatching(/^\* guest-\d+ is now bob$/),
      '[bob] hello, alice',
      '[bob] *waves*',
      '* bob left (quit)',
    ]);
  });

  it('after the end of stdin, lingers until the server is quiet: a quick reply still arrives', async () => {
    const at = await server(serverEngine);
    const alice = await peer(at, 'alice');
    const replied = alice.waitFor((line) => line === '[bob] anyone?').then(() => alice.send('me!'));
    const run = await runClient(args(at, '--nick', 'bob', '--linger', '1000'), 'anyone?\n');
    await replied;
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(lines(run.stdout).at(-1)).toBe('[alice] me!');
  });

  it('answers /who with everyone in the room', async () => {
    const at = await server(serverEngine);
    await peer(at, 'alice');
    const run = await runClient(args(at, '--nick', 'bob'), '/who\n');
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(lines(run.stdout)).toContain('* users: alice, bob');
  });

  it('a /quit line on stdin ends the session there, with its reason', async () => {
    const at = await server(serverEngine);
    const alice = await peer(at, 'alice');
    const run = await runClient(args(at, '--nick', 'bob'), 'bye now\n/quit gotta go\nnever sent\n');
    expect(run).toMatchObject({ code: 0, stderr: '' });
    await alice.waitFor((line) => line === '* bob left (quit: gotta go)');
    expect(alice.lines).toContain('[bob] bye now');
    expect(alice.lines.join('\n')).not.toContain('never sent');
  });

  it('echo mode: every line comes back exactly, CRLF and a last line without newline included', async () => {
    const at = await server(serverEngine, ['--mode', 'echo']);
    const run = await runClient(args(at), 'one\ntwo\r\n\nnaïve ☕ 𝄞\nlast');
    expect(run).toMatchObject({ code: 0, stderr: '' });
    // The /quit the client leaves with is a line too, and the echo server sends it back.
    expect(lines(run.stdout)).toEqual(['one', 'two', '', 'naïve ☕ 𝄞', 'last', '/quit']);
  });

  it('IPv6: --host ::1', async () => {
    const at = await server(serverEngine, ['--mode', 'echo', '--host', '::1']);
    const run = await runClient(args(at, '--host', '::1'), 'over v6\n');
    expect(run).toEqual({ code: 0, stdout: 'over v6\n/quit\n', stderr: '' });
  });

  it('echo mode: 20000 lines go out in order and all come back (batched writes, bounded memory)', async () => {
    const at = await server(serverEngine, ['--mode', 'echo']);
    const sent = Array.from({ length: 20_000 }, (_, i) => `line ${i} ${'x'.repeat(i % 100)}`);
    const run = await runClient(args(at), `${sent.join('\n')}\n`, 20_000);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(lines(run.stdout)).toEqual([...sent, '/quit']);
  });

  it('refuses lines over --max-line before sending them, in bytes, and sends the rest', async () => {
    const at = await server(serverEngine);
    const alice = await peer(at, 'alice');
    const input = ['short', 'x'.repeat(11), 'ééééé', 'éééééé', 'after'].join('\n');
    const run = await runClient(args(at, '--nick', 'bob', '--max-line', '10'), `${input}\n`);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe(
      'selectchat: line 2 of stdin is longer than --max-line 10 bytes: not sent\n' +
        'selectchat: line 4 of stdin is longer than --max-line 10 bytes: not sent\n',
    );
    await alice.waitFor((line) => line === '* bob left (quit)');
    expect(alice.lines.filter((line) => line.startsWith('[bob] '))).toEqual(['[bob] short', '[bob] ééééé', '[bob] after']);
  });

  it('server killed (kill -9) mid-session: one line on stderr, exit 1, no stack trace', async () => {
    const at = await server(serverEngine);
    const alice = await peer(at, 'alice');
    const client = spawnClient(args(at, '--nick', 'bob'));
    cleanups.push(() => client.kill('SIGKILL'));
    const run = finished(client);
    client.stdin!.write('still here\n'); // stdin stays open: the session is live
    await alice.waitFor((line) => line === '[bob] still here');
    at.child.kill('SIGKILL');
    const { code, stdout, stderr } = await run;
    expect(code).toBe(1);
    expect(stderr).toMatch(/^selectchat: connection (closed|reset) by server\n$/);
    expect(stdout).toContain('* guest-');
  });

  it('server shutting down (SIGTERM): its goodbye on stdout, then "connection closed by server", exit 1', async () => {
    const at = await server(serverEngine);
    const client = spawnClient(args(at));
    cleanups.push(() => client.kill('SIGKILL'));
    const run = finished(client);
    const alice = await peer(at, 'alice');
    // The client is in the room once alice sees it join, or finds it there when she arrives.
    await alice.waitFor((line) => /^\* guest-\d+ joined$/.test(line) || /^\* welcome guest-\d+, 2 users/.test(line));
    at.child.kill('SIGTERM');
    const { code, stdout, stderr } = await run;
    expect(code).toBe(1);
    expect(stderr).toBe('selectchat: connection closed by server\n');
    expect(lines(stdout).at(-1)).toBe('* server shutting down');
  });

  it('a full server: its "! server full" is printed, then the loss, exit 1', async () => {
    const at = await server(serverEngine, ['--max-clients', '1']);
    await peer(at, 'alice');
    const run = await runClient(args(at), '');
    expect(run).toEqual({ code: 1, stdout: '! server full\n', stderr: 'selectchat: connection closed by server\n' });
  });
});

describe.each(CLIENT_ENGINES)('client engine %s without a server', (clientEngine) => {
  it('connection refused: "connect ECONNREFUSED HOST:PORT" on stderr, exit 1', async () => {
    const { port, release } = closedPort();
    try {
      const run = await runClient(['--port', String(port), '--engine', clientEngine], 'hello\n');
      expect(run).toEqual({ code: 1, stdout: '', stderr: `selectchat: connect ECONNREFUSED 127.0.0.1:${port}\n` });
    } finally {
      release();
    }
  });
});

describe('usage errors exit 2', () => {
  it.each([
    [['--nick', 'two words'], /--nick must be 1 to 24 of/],
    [['--engine', 'kqueue'], /--engine must be one of select, poll, epoll, libuv/],
    [['--linger', 'soon'], /--linger must be an integer/],
    [['--max-line', '0'], /--max-line must be an integer/],
    [['--bogus'], /Unknown option '--bogus'/],
  ])('connect %j', async (args, message) => {
    const run = await runClient(args, '');
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(message);
  });
});
