// Graceful shutdown on SIGTERM/SIGINT: goodbye, flush (at most 2 s), close everything, exit 0.
import { connect } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { destroyAllClients, joinRoom, LineClient } from '../helpers/line-client.js';
import { ENGINES, killLeftovers, startServer, type ServerProcess } from '../helpers/server.js';

/** How soon a signal must be handled (spec: within 0.5 s, even when idle). */
const SIGNAL_LIMIT_MS = 500;
/** Signal to exit when nothing is left to flush: handling plus Node's own teardown. */
const QUICK_EXIT_MS = 1_000;
/** The server's flush limit on shutdown. */
const FLUSH_LIMIT_MS = 2_000;
/** Flood for the flush test: 2 MiB in 1 KiB lines. */
const FLOOD_LINES = 2048;
/** Flood for the flush-limit test: 8 MiB, past what loopback kernel buffers hold (~4 MiB here). */
const STUCK_FLOOD_LINES = 8192;
const FLOOD_LINE = `${'q'.repeat(1023)}`;

const GOODBYE = '* server shutting down';

/** Does a new connection to the server fail (nothing listening any more)? */
function refusesConnections(server: ServerProcess): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(server.port, server.host);
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

describe.each(ENGINES)('shutdown (engine %s)', (engine) => {
  afterEach(async () => {
    destroyAllClients();
    await killLeftovers();
  });
  afterAll(killLeftovers);

  /** A chat server and n members who have seen each other join. */
  async function room(n: number, flags: string[] = []): Promise<{ server: ServerProcess; clients: LineClient[] }> {
    const server = await startServer(engine, ['--mode', 'chat', ...flags]);
    return { server, clients: await joinRoom(server.host, server.port, n) };
  }

  it.each(['SIGTERM', 'SIGINT'] as const)('%s: everyone gets "* server shutting down" within 0.5 s, then EOF; exit code 0 within 1 s', async (signal) => {
    const { server, clients } = await room(3);
    const sent = performance.now();
    server.child.kill(signal);
    for (const client of clients) {
      await client.expectLine(GOODBYE, SIGNAL_LIMIT_MS);
      await client.ended();
      expect(client.pending).toEqual([]);
    }
    const exit = await server.waitForExit(QUICK_EXIT_MS);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(performance.now() - sent).toBeLessThan(QUICK_EXIT_MS);
  });

  it('SIGTERM while idle with no clients: exit code 0 within 0.5 s (+0.25 s for Node\'s teardown)', async () => {
    const server = await startServer(engine);
    const sent = performance.now();
    expect(await server.stop('SIGTERM', QUICK_EXIT_MS)).toEqual({ code: 0, signal: null });
    expect(performance.now() - sent).toBeLessThan(SIGNAL_LIMIT_MS + 250);
  });

  it('echo mode: SIGTERM sends nothing, closes every connection, exit code 0', async () => {
    const server = await startServer(engine, ['--mode', 'echo']);
    const a = await LineClient.connect(server.host, server.port);
    await a.send('x\n');
    await a.expectLine('x');
    expect(await server.stop('SIGTERM', QUICK_EXIT_MS)).toEqual({ code: 0, signal: null });
    await a.ended();
    expect(a.pending).toEqual([]);
  });

  it('output queued before the signal is flushed: a client that reads late still gets every line, then the goodbye', async () => {
    const { server, clients: [writer, late, witness] } = await room(3, ['--max-queue', String(64 * 1024 * 1024)]);
    late!.stopReading();
    for (let i = 0; i < FLOOD_LINES; i += 64) await writer!.send(`${FLOOD_LINE}\n`.repeat(64));
    await writer!.send('last\n');
    // The witness has it all, so the server has queued it all for `late` too.
    const skipped = await witness!.skipUntil('[guest-1] last', 10_000);
    expect(skipped).toHaveLength(FLOOD_LINES);

    server.child.kill('SIGTERM');
    await witness!.expectLine(GOODBYE, SIGNAL_LIMIT_MS);
    late!.socket.resume();
    const received = await late!.skipUntil('[guest-1] last', 10_000);
    expect(received).toHaveLength(FLOOD_LINES);
    expect(received.every((line) => line === `[guest-1] ${FLOOD_LINE}`)).toBe(true);
    await late!.expectLine(GOODBYE);
    await late!.ended();
    expect(await server.waitForExit(FLUSH_LIMIT_MS + 1_000)).toEqual({ code: 0, signal: null });
  });

  it('a client that never reads holds the shutdown for at most the 2 s flush limit; no new connections meanwhile', async () => {
    // Generous limits, so that the shutdown's own deadline is what ends the stuck client.
    const { server, clients: [writer, stuck, witness] } = await room(3, ['--max-queue', String(64 * 1024 * 1024), '--soft-seconds', '60']);
    stuck!.stopReading();
    for (let i = 0; i < STUCK_FLOOD_LINES; i += 64) await writer!.send(`${FLOOD_LINE}\n`.repeat(64));
    await writer!.send('last\n');
    await witness!.skipUntil('[guest-1] last', 10_000);

    const sent = performance.now();
    server.child.kill('SIGTERM');
    await witness!.expectLine(GOODBYE, SIGNAL_LIMIT_MS);
    await witness!.ended();
    expect(await refusesConnections(server)).toBe(true);
    const exit = await server.waitForExit(FLUSH_LIMIT_MS + 1_500);
    const elapsed = performance.now() - sent;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(elapsed).toBeGreaterThanOrEqual(FLUSH_LIMIT_MS - 100);
    expect(elapsed).toBeLessThan(FLUSH_LIMIT_MS + 1_500);
  });
});
