// Coordinated omission, caught: a real server is frozen with SIGSTOP for 200 ms in the middle of
// an open-loop run, and every line that fell due while it was frozen must show the wait.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { serverCommand } from '../../src/bench/run-server.js';
import { LOADGEN, type LoadgenReport } from '../../src/bench/run-loadgen.js';
import { ServerProcess } from '../../src/process/server-process.js';
import { expectPercentilesMatch, readSamples, type Sample } from './samples.js';

const run = promisify(execFile);
/** Lines per second over all connections: light, so the wait is the stall's and not the load's. */
const RATE = 2000;
const CONNECTIONS = 10;
const DEPTH = 16;
const WARMUP_S = 0.3;
const DURATION_S = 1.5;
/** When the server is frozen, from the generator's start: well inside the measured window. */
const STOP_AT_MS = (WARMUP_S + 0.5) * 1000;
const STALL_MS = 200;
/** A line due during the stall may be answered this much before the stall's measured end: the
 *  signals take effect a little after kill() is called, and hrtime is read around it. */
const EDGE_NS = 1_000_000n;
/** Lines due in the stall, as the schedule says (RATE × its length), give or take this many. */
const COUNT_SLACK = 2;

const dir = mkdtempSync(join(tmpdir(), 'selectchat-stall-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Samples at or above a latency in ms. */
const atLeast = (samples: readonly Sample[], ms: number): number => samples.filter((s) => s.latencyNs >= ms * 1e6).length;

describe('open loop against a server frozen for 200 ms', () => {
  it('charges every line that fell due during the stall with its wait, not one per connection', async () => {
    const { command, args } = serverCommand('select', 'echo');
    const server = await ServerProcess.start(command, args);
    const file = join(dir, 'samples.txt');
    try {
      const generated = run(LOADGEN, [
        '--host', server.host, '--port', String(server.port), '--connections', String(CONNECTIONS),
        '--depth', String(DEPTH), '--rate', String(RATE), '--warmup', String(WARMUP_S),
        '--duration', String(DURATION_S), '--samples', file,
      ]);
      await delay(STOP_AT_MS);
      // The generator stamps lines on CLOCK_MONOTONIC, the clock of hrtime. The interval measured
      // lies inside the freeze: read after SIGSTOP is sent and before SIGCONT is, so a busy machine
      // descheduling this process between a signal and a reading cannot let the server answer a
      // line inside the interval.
      server.child.kill('SIGSTOP');
      const stoppedAt = process.hrtime.bigint();
      await delay(STALL_MS);
      const resumedAt = process.hrtime.bigint();
      server.child.kill('SIGCONT');
      const report = JSON.parse((await generated).stdout) as LoadgenReport;
      const samples = readSamples(file);
      const stalled = samples.filter((s) => s.stampNs >= stoppedAt && s.stampNs < resumedAt);
      const stallS = Number(resumedAt - stoppedAt) / 1e9;
      console.log(
        `stall ${(stallS * 1000).toFixed(1)} ms: p99.9 ${((report.latency_us.p999 ?? 0) / 1000).toFixed(1)} ms; ` +
          `${stalled.length} lines due during it; ${atLeast(samples, 100)} samples >= 100 ms of ${samples.length}`,
      );
      expect(report).toMatchObject({ mode: 'open', errors: 0, ok: true });
      // The backlog was caught up: at most a line per connection due in the window's last round,
      // and as many again when that round came ~5 ms late (RATE × 5 ms) on a busy shared machine.
      expect(report.unsent).toBeLessThanOrEqual(2 * CONNECTIONS);
      expect(report.latency_us.p999).toBeGreaterThanOrEqual(150_000);
      // Every line due while the server was frozen was counted, each with the wait it had left.
      expect(Math.abs(stalled.length - RATE * stallS)).toBeLessThanOrEqual(COUNT_SLACK);
      const short = stalled.filter((s) => BigInt(s.latencyNs) < resumedAt - s.stampNs - EDGE_NS);
      expect(short, 'lines answered before the server resumed').toEqual([]);
      // Hence those due in the stall's first (stall − 100 ms) alone waited >= 100 ms: ~200 samples,
      // where closed loop would have shown one per connection.
      expect(atLeast(samples, 100)).toBeGreaterThanOrEqual(Math.floor(RATE * (stallS - 0.1)) - COUNT_SLACK);
      expect(atLeast(samples, 100)).toBeGreaterThan(10 * CONNECTIONS);
      expect(samples).toHaveLength(report.latency_us.count);
      expectPercentilesMatch(report, samples);
    } finally {
      server.child.kill('SIGCONT');
      await server.stop();
    }
  });
});
