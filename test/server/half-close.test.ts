// EOF from a peer means "no more input", not "throw away what is queued"; and leaving is
// leaving: a quitter or a half-closer that never reads holds no slot past the soft time, and the
// idle timeout applies in every state.
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { constants, native, READABLE, WRITABLE } from '../../src/binding/native.js';
import { destroyAllClients, LineClient } from '../helpers/line-client.js';
import { ENGINES, killLeftovers, startServer, type ServerProcess } from '../helpers/server.js';
import { tcpSocket, trackFdsOfThisFile, waitFor } from '../helpers/sockets.js';

/** The half-closer's receive buffer, and what it sends before shutting its write side. */
const RECEIVE_BUFFER_BYTES = 4096;
const PAYLOAD_BYTES = 2 * 1024 * 1024;
const LINE_BYTES = 64;
/** "Reads slowly": one receive buffer's worth, then a pause. */
const READ_PAUSE_MS = 1;
/** Longest the whole echo may take; longest one wait for readable may take. */
const ECHO_LIMIT_MS = 60_000;
const READABLE_LIMIT_MS = 5_000;
/** The default soft time, and slack for the sweep and the loop. */
const SOFT_MS = 2000;
const SLACK_MS = 1500;
/** Most a never-reading half-closer sends before its sends would block. */
const NEVER_READ_LIMIT_BYTES = 64 * 1024 * 1024;
/** 8 MB: more than loopback's buffers hold; time for them to fill. */
const STUCK_LINES = 2048;
const STUCK_FILL_MS = 300;

const fds = trackFdsOfThisFile();

/** Talks more than the kernel's buffers hold for a member that reads nothing, so output to it
 *  piles up. Not awaited to the end: the server stops reading the talker (backpressure) while
 *  its output is stuck. */
async function stuck(talker: LineClient): Promise<void> {
  void talker.send(`${'q'.repeat(4095)}\n`.repeat(STUCK_LINES)).catch(() => {});
  await delay(STUCK_FILL_MS);
}

/** 2 MB of numbered lines. */
function payload(): Buffer {
  const count = PAYLOAD_BYTES / LINE_BYTES;
  const pad = 'p'.repeat(LINE_BYTES - 9);
  return Buffer.from(Array.from({ length: count }, (_, i) => `${String(i).padStart(7, '0')} ${pad}\n`).join(''));
}

/** A client socket with a small receive buffer, connected (through the addon, so SO_RCVBUF is
 *  set before the handshake fixes the window). */
function smallWindowClient(server: ServerProcess): number {
  const fd = tcpSocket(fds);
  native.setsockopt(fd, constants.SOL_SOCKET, constants.SO_RCVBUF, RECEIVE_BUFFER_BYTES);
  native.connect(fd, server.host, server.port);
  if (!(waitFor(fd, WRITABLE) & WRITABLE)) throw new Error('connect never finished');
  expect(native.getsockopt(fd, constants.SOL_SOCKET, constants.SO_ERROR)).toBe(0);
  return fd;
}

describe.each(ENGINES)('half-close and leaving (engine %s)', (engine) => {
  afterEach(async () => {
    destroyAllClients();
    await killLeftovers();
  });
  afterAll(killLeftovers);

  it('echo: a client with a 4 KiB receive buffer sends 2 MB, shuts down its write side at once, reads slowly: it gets all 2 MB back, then EOF', async () => {
    // A long soft time: reading slowly on a busy machine must not look like a stall here.
    const server = await startServer(engine, ['--mode', 'echo', '--soft-seconds', '30']);
    const fd = smallWindowClient(server);
    const sent = payload();
    const received: Buffer[] = [];
    const chunk = Buffer.alloc(RECEIVE_BUFFER_BYTES);
    let got = 0;
    /** One slow read: what is there, at most one receive buffer; -1 at EOF. */
    const readSome = async (): Promise<number> => {
      const n = native.recv(fd, chunk, 0, chunk.length);
      if (n === 0) return -1;
      if (n > 0) {
        received.push(Buffer.from(chunk.subarray(0, n)));
        got += n;
      }
      await delay(READ_PAUSE_MS);
      return n;
    };
    const started = performance.now();
    // Send everything; only when the kernel will take no more does it read (slowly) meanwhile.
    for (let at = 0; at < sent.length; ) {
      const n = native.send(fd, sent, at, sent.length - at);
      if (n > 0) at += n;
      else await readSome();
      if (performance.now() - started > ECHO_LIMIT_MS) throw new Error(`sent only ${at} bytes`);
    }
    native.shutdown(fd, constants.SHUT_WR);
    for (;;) {
      if (!(waitFor(fd, READABLE, READABLE_LIMIT_MS) & READABLE)) throw new Error(`no data or EOF for ${READABLE_LIMIT_MS} ms after ${got} bytes`);
      if ((await readSome()) < 0) break;
      if (performance.now() - started > ECHO_LIMIT_MS) throw new Error(`received only ${got} bytes`);
    }
    console.log(`[${engine}] half-close: sent ${sent.length} bytes, received ${got} bytes back, then EOF, in ${(performance.now() - started).toFixed(0)} ms`);
    expect(got).toBe(sent.length);
    expect(Buffer.concat(received).equals(sent)).toBe(true);
  }, ECHO_LIMIT_MS * 2);

  it('echo: a half-closer that never reads is still dropped once it has taken nothing for the soft time', async () => {
    const server = await startServer(engine, ['--mode', 'echo']);
    const baseline = server.openFds().length;
    const fd = smallWindowClient(server);
    expect(await server.settleFdCount(baseline + 1)).toBe(baseline + 1);
    // Sends until the kernel takes no more: far more echo than the kernel's buffers can hold
    // for a reader that reads nothing, so some of it stays queued in the server.
    const sent = payload();
    for (let n = 1, total = 0; n > 0 && total < NEVER_READ_LIMIT_BYTES; total += n) n = native.send(fd, sent, 0, sent.length);
    native.shutdown(fd, constants.SHUT_WR);
    const shutAt = performance.now();
    // Not at EOF (that would lose the replies): after the soft time with nothing taken.
    expect(await server.settleFdCount(baseline, SOFT_MS + SLACK_MS)).toBe(baseline);
    expect(performance.now() - shutAt).toBeGreaterThan(SOFT_MS - SLACK_MS);
  });

  it('chat: /quit from a member whose output cannot be flushed frees its slot within the soft time; the others see it leave at once', async () => {
    const server = await startServer(engine);
    const baseline = server.openFds().length;
    const quitter = await LineClient.join(server.host, server.port);
    const talker = await LineClient.join(server.host, server.port);
    await quitter.expectLine('* guest-2 joined');
    quitter.stopReading();
    await stuck(talker);
    await quitter.send('/quit\n');
    const quitAt = performance.now();
    await talker.skipUntil('* guest-1 left (quit)', SOFT_MS);
    await talker.send('/who\n');
    await talker.skipUntil('* users: guest-2');
    expect(await server.settleFdCount(baseline + 1, SOFT_MS + SLACK_MS)).toBe(baseline + 1);
    expect(performance.now() - quitAt).toBeLessThan(SOFT_MS + SLACK_MS);
  });

  it('--idle-timeout applies in every state: a quitter whose output is stuck is closed by it, long before a long soft time', async () => {
    const server = await startServer(engine, ['--idle-timeout', '0.5', '--soft-seconds', '60']);
    const baseline = server.openFds().length;
    const quitter = await LineClient.join(server.host, server.port);
    const talker = await LineClient.join(server.host, server.port);
    await quitter.expectLine('* guest-2 joined');
    quitter.stopReading();
    // Both stay active (empty lines are traffic) until the quitter quits.
    const keepalive = setInterval(() => {
      for (const client of [talker, quitter]) void client.send('\n').catch(() => {});
    }, 100);
    try {
      await stuck(talker);
      await quitter.send('/quit\n');
      await talker.skipUntil('* guest-1 left (quit)', SOFT_MS);
      expect(await server.settleFdCount(baseline + 1, SOFT_MS)).toBe(baseline + 1);
    } finally {
      clearInterval(keepalive);
    }
  });
});
