// Floods from one member must cost the others nothing: memory stays bounded, the flooder is
// throttled (backpressure) or dropped, everyone who reads gets every line, in order, promptly.
// Each test is bounded in bytes and seconds and stops by itself.
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { closeCrowd, CrowdMember, joinCrowd } from '../helpers/crowd.js';
import { destroyAllClients, LineClient } from '../helpers/line-client.js';
import { ENGINES, killLeftovers, startServer, type ServerProcess } from '../helpers/server.js';

/** A line from one member must reach another within this, at every moment of a flood. */
const PING_LIMIT_MS = 1000;
const PING_EVERY_MS = 100;
/** The /who flood, and the longest it is watched for the flooder's drop. */
const WHO_FLOOD_LINES = 200_000;
const FLOOD_WATCH_MS = 15_000;

/** The burst: 4 MB of lines this long (with their newline), sent at once to READERS readers. */
const BURST_BYTES = 4 * 1000 * 1000;
const BURST_LINE_BYTES = 48;
const SEQ_DIGITS = 7;
const READERS = 50;
const BURST_LIMIT_MS = 60_000;
/** A silent member must be gone this soon after others start talking to it. */
const DROP_LIMIT_MS = 5000;
const TALK_LINE_BYTES = 4096;
const TALK_BATCH_LINES = 16;
const TALK_WINDOW_LINES = 256;

/** How often, and how many times, a test asks /who whether its room has settled. */
const SETTLE_POLL_MS = 200;
const SETTLE_TRIES = 150;

/** A 24-character nick, unique per i: the longest the protocol allows, the worst for /who. */
const nick24 = (prefix: string, i: number): string => `${prefix}${String(i).padStart(24 - prefix.length, '0')}`;

/** Samples the server's RSS until stopped; returns the peak. */
function rssSampler(server: ServerProcess, everyMs = 50): { stop: () => number } {
  let peak = server.rssBytes();
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, server.rssBytes());
    } catch {
      // Exited: the test fails on its own checks.
    }
  }, everyMs);
  return { stop: () => (clearInterval(timer), peak) };
}

/** Sends `ping N` from `from` every intervalMs until stop(); each must reach `to` within limitMs.
 *  Every other line `to` receives meanwhile goes to onOther. */
function pingLoop(from: LineClient, to: LineClient, intervalMs: number, limitMs: number, onOther: (line: string) => void) {
  const sent = new Map<number, number>();
  let worst = 0;
  let n = 0;
  let failure: Error | null = null;
  const timer = setInterval(() => {
    sent.set(++n, performance.now());
    from.send(`ping ${n}\n`).catch(() => {});
    for (const [k, at] of sent) {
      if (performance.now() - at > limitMs) failure ??= new Error(`ping ${k} did not arrive within ${limitMs} ms`);
    }
  }, intervalMs);
  let stopped = false;
  void (async () => {
    while (!stopped || sent.size > 0) {
      const line = await to.nextLine(limitMs * 4);
      const match = /^\[[\w-]+\] ping (\d+)$/.exec(line);
      if (!match) {
        onOther(line);
        continue;
      }
      const k = Number(match[1]);
      worst = Math.max(worst, performance.now() - sent.get(k)!);
      sent.delete(k);
    }
  })().catch((error: Error) => void (stopped || (failure ??= error)));
  return {
    /** Stops sending, waits for the pings in flight; returns the worst delivery time. */
    async stop(): Promise<number> {
      clearInterval(timer);
      stopped = true;
      const deadline = performance.now() + limitMs;
      while (sent.size > 0 && failure === null && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      if (sent.size > 0) failure ??= new Error(`${sent.size} pings never arrived`);
      if (failure) throw failure;
      return worst;
    },
  };
}

describe.each(ENGINES)('floods (engine %s)', (engine) => {
  afterEach(async () => {
    closeCrowd();
    destroyAllClients();
    await killLeftovers();
  });
  afterAll(killLeftovers);

  it('/who × 200,000 from a member of a 1000-member room that never reads: memory bounded, the flooder throttled or dropped, a line still crosses the room within 1 s', async () => {
    const server = await startServer(engine, ['--max-clients', '1100']);
    const idleRss = server.rssBytes();
    const crowd = await joinCrowd(server.host, server.port, 997, (i) => `/nick ${nick24('m', i)}\n`);
    const join = async (prefix: string): Promise<LineClient> => {
      const client = await LineClient.join(server.host, server.port);
      await client.send(`/nick ${nick24(prefix, 0)}\n`);
      return client;
    };
    const flooder = await join('flooder');
    const talker = await join('talker');
    const listener = await join('listener');
    // Settled: /who lists 1000 members, none of them a guest any more.
    for (let tries = 0; ; tries++) {
      const who = await whoList(listener);
      if (who.length === 1000 && !who.some((n) => n.startsWith('guest-'))) break;
      if (tries === SETTLE_TRIES) throw new Error(`the room never settled: /who lists ${who.length}`);
      await delay(SETTLE_POLL_MS);
    }
    expect(crowd.every((member) => !member.ended)).toBe(true);

    flooder.stopReading();
    const rss = rssSampler(server);
    const started = performance.now();
    let dropped: number | null = null;
    const leaving = `* ${nick24('flooder', 0)} left (too slow)`;
    const pings = pingLoop(talker, listener, PING_EVERY_MS, PING_LIMIT_MS, (line) => {
      if (line === leaving) dropped = performance.now() - started;
    });
    // Never awaited: the server stops reading the flooder, so its last bytes may never be taken.
    void flooder.send('/who\n'.repeat(WHO_FLOOD_LINES)).catch(() => {});
    // Throttled at once, dropped once it has taken nothing for the soft time (2 s by default).
    for (const deadline = performance.now() + FLOOD_WATCH_MS; dropped === null && performance.now() < deadline; ) await delay(PING_EVERY_MS);
    await delay(PING_LIMIT_MS);
    const worst = await pings.stop();
    const peak = rss.stop();
    expect(server.child.exitCode).toBeNull();
    expect(peak - idleRss).toBeLessThan(256 * 1024 * 1024);
    expect(worst).toBeLessThan(PING_LIMIT_MS);
    expect(dropped).not.toBeNull();
    console.log(`[${engine}] /who flood: peak RSS ${(peak / 2 ** 20).toFixed(1)} MiB (idle ${(idleRss / 2 ** 20).toFixed(1)} MiB), flooder dropped after ${(dropped as number | null)?.toFixed(0)} ms, worst ping ${worst.toFixed(1)} ms`);
    expect(crowd.every((member) => !member.ended)).toBe(true);
  }, 90_000);

  it('50 members that read and one that sends 4 MB of short lines as fast as it can: all 50 stay and each receives every line, in order', async () => {
    const server = await startServer(engine);
    const expected = Math.floor(BURST_BYTES / BURST_LINE_BYTES);
    const received: number[] = new Array(READERS).fill(0);
    const outOfOrder: string[] = [];
    const readers = await Promise.all(
      Array.from({ length: READERS }, (_, r) =>
        CrowdMember.join(server.host, server.port, (line) => {
          // `[guest-N] 0000123 xxx…`: the sender's lines, numbered; the rest are join events.
          if (line[0] !== 0x5b) return;
          // The number read from the bytes: 50 readers × 83,333 lines in one test process.
          let seq = 0;
          for (let i = line.indexOf(0x20) + 1, end = i + SEQ_DIGITS; i < end; i++) seq = seq * 10 + line[i]! - 0x30;
          if (seq !== received[r] && outOfOrder.length < 5) outOfOrder.push(`reader ${r} got line ${seq} after ${received[r]} lines`);
          received[r]!++;
        }),
      ),
    );
    const sender = await LineClient.join(server.host, server.port);
    const padding = 'x'.repeat(BURST_LINE_BYTES - SEQ_DIGITS - 2);
    const burst = Array.from({ length: expected }, (_, i) => `${String(i).padStart(SEQ_DIGITS, '0')} ${padding}\n`).join('');
    const started = performance.now();
    await sender.send(burst);
    const deadline = started + BURST_LIMIT_MS;
    while (received.some((n) => n < expected) && performance.now() < deadline && outOfOrder.length === 0) await delay(50);
    const elapsed = performance.now() - started;
    expect(outOfOrder).toEqual([]);
    expect(readers.filter((reader) => reader.ended)).toHaveLength(0);
    expect(received).toEqual(new Array(READERS).fill(expected));
    console.log(`[${engine}] 4 MB burst: ${READERS} readers each got ${expected} of ${expected} lines in ${elapsed.toFixed(0)} ms`);
    // The sender was never dropped either, and the room goes on.
    await sender.send('/who\n');
    await sender.skipUntil(/^\* users: /);
  }, 90_000);

  it('a member that stops reading is dropped as "too slow" within 5 s of others talking to it; the others get everything', async () => {
    const server = await startServer(engine);
    const silent = await LineClient.join(server.host, server.port);
    silent.stopReading();
    const talker = await LineClient.join(server.host, server.port);
    const watcher = await LineClient.join(server.host, server.port);
    await talker.skipUntil('* guest-3 joined');
    const line = 'k'.repeat(TALK_LINE_BYTES - 1);
    const started = performance.now();
    let sent = 0;
    let dropped: number | null = null;
    let got = 0;
    const watching = (async () => {
      while (dropped === null || got < sent) {
        const text = await watcher.nextLine(DROP_LIMIT_MS);
        if (text === '* guest-1 left (too slow)') dropped = performance.now() - started;
        else if (text === `[guest-2] ${line}`) got++;
      }
    })();
    // Talk steadily (a line whenever the watcher has caught up), until the silent one is gone.
    while (dropped === null && performance.now() - started < DROP_LIMIT_MS + 1000) {
      if (sent - got < TALK_WINDOW_LINES) {
        await talker.send(`${line}\n`.repeat(TALK_BATCH_LINES));
        sent += TALK_BATCH_LINES;
      } else await delay(1);
    }
    await watching;
    expect(dropped).not.toBeNull();
    expect(dropped!).toBeLessThan(DROP_LIMIT_MS);
    expect(got).toBe(sent);
    console.log(`[${engine}] a member that stopped reading was dropped ${dropped!.toFixed(0)} ms after the talk began (${sent} lines of ${TALK_LINE_BYTES} B)`);
    await talker.send('/who\n');
    await talker.skipUntil('* users: guest-2, guest-3');
  }, 30_000);
});

/** Sends /who and returns the nicks listed (other lines before the answer are skipped). */
async function whoList(client: LineClient): Promise<string[]> {
  await client.send('/who\n');
  for (;;) {
    const line = await client.nextLine(SETTLE_POLL_MS * SETTLE_TRIES);
    if (line.startsWith('* users: ')) return line.slice('* users: '.length).split(', ');
  }
}
