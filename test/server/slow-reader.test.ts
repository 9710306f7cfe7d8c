// A client that never reads while others flood: dropped as `too slow`, memory bounded, the rest
// keep receiving everything.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { destroyAllClients, LineClient } from '../helpers/line-client.js';
import { ENGINES, killLeftovers, startServer } from '../helpers/server.js';

/** Per-client queue limit for this test: small, so a few MB of flood are enough. */
const MAX_QUEUE = 262_144;
/** Each flood line: 4 KiB including the newline. */
const LINE_BYTES = 4096;
/** Lines per write. */
const BATCH_LINES = 8;
/** Lines a flooder may be ahead of the watcher before its next batch: the flood runs as fast as a
 *  prompt reader takes it, and at most 2 × (8 + 8) lines = 128 KiB is ever in flight to a reader. */
const WINDOW_LINES = 8;
/** Most lines one flooder sends: 8 MiB each, well past kernel buffers plus MAX_QUEUE. */
const MAX_FLOOD_LINES = 2048;
/** Generous bound on the server's resident memory during the flood. */
const RSS_LIMIT_BYTES = 200 * 1024 * 1024;
/** How often the server's RSS is sampled. */
const RSS_SAMPLE_MS = 50;
/** Longest the watcher waits for its next line while the flood runs. */
const FLOOD_LINE_LIMIT_MS = 10_000;

describe.each(ENGINES)('slow reader (engine %s)', (engine) => {
  afterEach(async () => {
    destroyAllClients();
    await killLeftovers();
  });
  afterAll(killLeftovers);

  it('a client that never reads is dropped as "too slow" while floods go on; memory stays bounded; others receive everything', async () => {
    const server = await startServer(engine, ['--max-queue', String(MAX_QUEUE)]);
    const join = (): Promise<LineClient> => LineClient.join(server.host, server.port);
    const slow = await join();
    slow.stopReading();
    const flooders = [await join(), await join()];
    const watcher = await join();
    await flooders[0]!.skipUntil('* guest-4 joined');
    await flooders[1]!.skipUntil('* guest-4 joined');

    let rssMax = server.rssBytes();
    const sampler = setInterval(() => {
      try {
        rssMax = Math.max(rssMax, server.rssBytes());
      } catch {
        // The server exited: the test fails elsewhere.
      }
    }, RSS_SAMPLE_MS);

    let dropped = false;
    const received = new Map([['guest-2', 0], ['guest-3', 0]]);
    /** Wakes flooders waiting for the watcher to catch up. */
    const progress = new Set<() => void>();
    const batch = `${'f'.repeat(LINE_BYTES - 1)}\n`.repeat(BATCH_LINES);

    /** Resolves once the watcher is at most WINDOW_LINES behind `sent`, within FLOOD_LINE_LIMIT_MS. */
    const caughtUp = (nick: string, sent: number): Promise<void> =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          if (sent - received.get(nick)! > WINDOW_LINES) return;
          clearTimeout(timer);
          progress.delete(check);
          resolve();
        };
        const timer = setTimeout(() => {
          progress.delete(check);
          reject(new Error(`the watcher stopped receiving ${nick}'s flood at ${received.get(nick)} of ${sent} lines`));
        }, FLOOD_LINE_LIMIT_MS);
        progress.add(check);
        check();
      });
    /** Floods until the slow reader is dropped or the bound is reached; then sends an end marker. */
    const flood = async (client: LineClient, nick: string): Promise<number> => {
      let sent = 0;
      while (!dropped && sent < MAX_FLOOD_LINES) {
        await caughtUp(nick, sent);
        await client.send(batch);
        sent += BATCH_LINES;
      }
      await client.send(`end of ${nick}\n`);
      return sent;
    };
    /** Counts what the watcher receives from each flooder until both end markers arrived. */
    const watch = async (): Promise<Map<string, number>> => {
      let ends = 0;
      while (ends < 2) {
        const line = await watcher.nextLine(FLOOD_LINE_LIMIT_MS);
        const flooded = /^\[(guest-[23])\] f+$/.exec(line);
        if (flooded) received.set(flooded[1]!, received.get(flooded[1]!)! + 1);
        else if (line === '* guest-1 left (too slow)') dropped = true;
        else if (/^\[guest-[23]\] end of guest-[23]$/.test(line)) ends++;
        else throw new Error(`unexpected line at the watcher: ${JSON.stringify(line.slice(0, 100))}`);
        for (const wake of progress) wake();
      }
      return received;
    };

    try {
      const [counts, sent2, sent3] = await Promise.all([watch(), flood(flooders[0]!, 'guest-2'), flood(flooders[1]!, 'guest-3')]);
      expect(dropped, `the slow reader was never dropped after ${sent2 + sent3} lines`).toBe(true);
      expect(counts.get('guest-2')).toBe(sent2);
      expect(counts.get('guest-3')).toBe(sent3);
      expect(rssMax).toBeLessThan(RSS_LIMIT_BYTES);
    } finally {
      clearInterval(sampler);
    }

    // The flooders carry on too, and the slow reader's connection really is closed.
    await flooders[0]!.send('/who\n');
    await flooders[0]!.skipUntil('* users: guest-2, guest-3, guest-4');
    slow.socket.resume();
    await slow.closed(5_000);
  });

  it('--max-queue counts output the kernel refused: a prompt reader gets a message bigger than the limit and stays', async () => {
    const server = await startServer(engine, ['--max-queue', '4096']);
    const a = await LineClient.join(server.host, server.port);
    const b = await LineClient.join(server.host, server.port);
    await a.expectLine('* guest-2 joined');
    const text = 'k'.repeat(10 * 1024);
    await a.send(`${text}\n`);
    await b.expectLine(`[guest-1] ${text}`);
    await a.expectNoLine();
    await a.send('/who\n');
    await a.expectLine('* users: guest-1, guest-2');
  });
});
