// Coordinated omission, caught: a real server is frozen with SIGSTOP for 200 ms in the middle of
// an open-loop run, and every line that fell due while it was frozen must show the wait.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { serverCommand } from '../../src/bench/run-server.js';
import { LOADGEN, type LoadgenReport } from '../../src/bench/run-loadgen.js';
import { ServerProcess } from '../../src/process/server-process.js';
import { expectPercentilesMatch, readSamples } from './samples.js';

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
/** A line due t ms into a stall of S ms waits about S − t ms, so the count above a latency L
 *  is about RATE × (S − L); this much either way is allowed for the machine's own hiccups. */
const COUNT_TOLERANCE = 0.3;

const dir = mkdtempSync(join(tmpdir(), 'selectchat-stall-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Samples at or above a latency in ms. */
const atLeast = (samples: readonly number[], ms: number): number => samples.filter((ns) => ns >= ms * 1e6).length;

describe('open loop against a server frozen for 200 ms', () => {
  it('charges every line that waited, not one per connection', async () => {
    const { command, args } = serverCommand('select', 'echo');
    const server = await ServerProcess.start(command, args);
    const file = join(dir, 'samples.txt');
    let stallMs = 0;
    try {
      const generated = run(LOADGEN, [
        '--host', server.host, '--port', String(server.port), '--connections', String(CONNECTIONS),
        '--depth', String(DEPTH), '--rate', String(RATE), '--warmup', String(WARMUP_S),
        '--duration', String(DURATION_S), '--samples', file,
      ]);
      await delay(STOP_AT_MS);
      const stoppedAt = performance.now();
      server.child.kill('SIGSTOP');
      await delay(STALL_MS);
      server.child.kill('SIGCONT');
      stallMs = performance.now() - stoppedAt;
      const report = JSON.parse((await generated).stdout) as LoadgenReport;
      const samples = readSamples(file);
      console.log(
        `stall ${stallMs.toFixed(1)} ms: p99.9 ${((report.latency_us.p999 ?? 0) / 1000).toFixed(1)} ms, ` +
          `${atLeast(samples, 20)} samples >= 20 ms, ${atLeast(samples, 100)} >= 100 ms, of ${samples.length}`,
      );
      expect(report).toMatchObject({ mode: 'open', errors: 0, ok: true });
      // The backlog was caught up: at most a line per connection, due in the window's last round.
      expect(report.unsent).toBeLessThanOrEqual(CONNECTIONS);
      expect(report.latency_us.p999).toBeGreaterThanOrEqual(150_000);
      // Closed loop would show CONNECTIONS slow samples; open loop shows every line due meanwhile.
      const stallS = stallMs / 1000;
      for (const ms of [20, 100]) {
        const expected = RATE * (stallS - ms / 1000);
        expect(atLeast(samples, ms), `samples >= ${ms} ms`).toBeGreaterThanOrEqual(expected * (1 - COUNT_TOLERANCE));
        expect(atLeast(samples, ms), `samples >= ${ms} ms`).toBeLessThanOrEqual(expected * (1 + COUNT_TOLERANCE));
      }
      expect(samples).toHaveLength(report.latency_us.count);
      expectPercentilesMatch(report, samples);
    } finally {
      server.child.kill('SIGCONT');
      await server.stop();
    }
  });
});
