// More connections than select() can watch: the select engine refuses fds >= FD_SETSIZE with
// `! server full` whatever --max-clients says; poll, epoll and libuv have no such bound and honour
// --max-clients past it.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { FD_SETSIZE } from '../../src/binding/native.js';
import { openFdLimit } from '../helpers/fds.js';
import { destroyAllClients, LineClient } from '../helpers/line-client.js';
import { ENGINES, killLeftovers, startServer, type ServerProcess } from '../helpers/server.js';

/** Connections the test opens: comfortably past FD_SETSIZE (1024). */
const CONNECTIONS = 1100;
/** Connections opened at once: well under the server's listen backlog. */
const BATCH = 50;
/** The fds this test process needs: the connections plus its own. */
const FDS_NEEDED = 1200;
/** Opens CONNECTIONS echo clients in batches; each says "ping" and gets it back or `! server full`. */
async function openMany(server: ServerProcess): Promise<{ served: LineClient[]; refused: LineClient[] }> {
  const served: LineClient[] = [];
  const refused: LineClient[] = [];
  for (let opened = 0; opened < CONNECTIONS; opened += BATCH) {
    const batch = await Promise.all(Array.from({ length: Math.min(BATCH, CONNECTIONS - opened) }, () => LineClient.connect(server.host, server.port)));
    await Promise.all(
      batch.map(async (client) => {
        await client.send('ping\n').catch(() => {});
        const answer = await client.expectLine(/^(ping|! server full)$/);
        (answer === 'ping' ? served : refused).push(client);
      }),
    );
  }
  return { served, refused };
}

describe.each(ENGINES)('more connections than FD_SETSIZE (engine %s)', (engine) => {
  afterEach(async () => {
    destroyAllClients();
    await killLeftovers();
  });
  afterAll(killLeftovers);

  it('select: --max-clients above FD_SETSIZE still refuses fds >= FD_SETSIZE with "! server full"; the server goes on and its fds return to baseline', async (ctx) => {
    ctx.skip(engine !== 'select', `the FD_SETSIZE guard is about select(); the ${engine} engine has no such bound`);
    ctx.skip(openFdLimit() < FDS_NEEDED, `this process may open only ${openFdLimit()} fds, the test needs ${FDS_NEEDED}`);
    const server = await startServer(engine, ['--mode', 'echo', '--max-clients', '2000']);
    const baseline = server.openFds();
    // Accepted fds take the lowest free numbers: exactly the free ones below FD_SETSIZE can be served.
    const freeBelow = FD_SETSIZE - baseline.filter((fd) => fd < FD_SETSIZE).length;

    const { served, refused } = await openMany(server);
    expect(served.length).toBe(freeBelow);
    expect(refused.length).toBe(CONNECTIONS - freeBelow);
    for (const client of refused) await client.ended();
    expect(Math.max(...server.openFds())).toBeLessThan(FD_SETSIZE);

    // Still up, and both the first and the last served client are still answered.
    expect(server.child.exitCode).toBeNull();
    for (const client of [served[0]!, served.at(-1)!]) {
      await client.send('still here\n');
      await client.expectLine('still here');
    }
    // One place freed below FD_SETSIZE: the next newcomer is served.
    served.pop()!.end();
    expect(await server.settleFdCount(baseline.length + served.length)).toBe(baseline.length + served.length);
    const next = await LineClient.connect(server.host, server.port);
    await next.send('in again\n');
    await next.expectLine('in again');

    for (const client of [...served, next]) client.end();
    expect(await server.settleFdCount(baseline.length)).toBe(baseline.length);
    expect(server.stderr).toBe('');
  });

  it('poll, epoll, libuv: --max-clients is honoured past FD_SETSIZE: the extra newcomers get "! server full"', async (ctx) => {
    ctx.skip(engine === 'select', 'the select engine is bounded by FD_SETSIZE: the test above covers it');
    ctx.skip(openFdLimit() < FDS_NEEDED, `this process may open only ${openFdLimit()} fds, the test needs ${FDS_NEEDED}`);
    const maxClients = CONNECTIONS - BATCH;
    const server = await startServer(engine, ['--mode', 'echo', '--max-clients', String(maxClients)]);
    const baseline = server.openFds().length;

    const { served, refused } = await openMany(server);
    expect(served.length).toBe(maxClients);
    expect(refused.length).toBe(CONNECTIONS - maxClients);
    for (const client of refused) await client.ended();
    expect(Math.max(...server.openFds())).toBeGreaterThanOrEqual(FD_SETSIZE);
    for (const client of [served[0]!, served.at(-1)!]) {
      await client.send('still here\n');
      await client.expectLine('still here');
    }

    for (const client of served) client.end();
    expect(await server.settleFdCount(baseline)).toBe(baseline);
  });
});
