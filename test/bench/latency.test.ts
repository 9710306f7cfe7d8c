// `selectchat bench` with a latency sweep, kept to a few seconds: the C server only, the quick
// preset's four fractions, two runs of a quarter second each; then that run compared with itself.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LatencyRun } from '../../src/bench/latency-run.js';
import type { BenchResults } from '../../src/bench/results.js';
import { LATENCY_P99_BOUND_US, QUICK_LATENCY_FRACTIONS } from '../../src/bench/scenarios.js';
import { cli as runCli, type CliResult } from './cli.js';

/** The sweep bench: a probe and 4 × 2 points, plus 2 echo runs, each well under a second. */
const BENCH_LIMIT_MS = 25_000;
const RUNS = 2;
/** The results.json published with the README, written before the latency sweep existed. */
/** The results.json published on 2026-11-24, before the latency sweep and the poll and epoll
 *  engines existed, kept as it was. */
const BEFORE_LATENCY = fileURLToPath(new URL('fixtures/before-latency', import.meta.url));

const cli = (args: string[]): Promise<CliResult> => runCli(args, BENCH_LIMIT_MS);

describe('selectchat bench with a latency sweep', () => {
  const dir = mkdtempSync(join(tmpdir(), 'selectchat-latency-'));
  const out = join(dir, 'two');
  let bench: CliResult;
  let results: BenchResults;

  beforeAll(async () => {
    const window = ['--runs', String(RUNS), '--duration', '0.25', '--warmup', '0.1'];
    bench = await cli(['bench', '--quick', '--scenarios', 'echo-c10,latency-echo-c100', '--engines', 'c-ref', ...window, '--out', out]);
    results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as BenchResults;
  }, BENCH_LIMIT_MS + 5_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs the probe closed loop, then every fraction of its rate open loop, and keeps them raw', () => {
    expect(bench.stderr).toBe('');
    expect(bench.code).toBe(0);
    expect(results.parameters).toMatchObject({ latencyFractions: QUICK_LATENCY_FRACTIONS, latencyBoundUs: LATENCY_P99_BOUND_US });
    expect(results.parameters.latencyScenarios.map((s) => s.id)).toEqual(['latency-echo-c100']);
    const probes = results.latencyRuns.filter((r) => r.kind === 'probe');
    expect(probes).toHaveLength(1);
    const probe = probes[0] as LatencyRun;
    expect(probe).toMatchObject({ scenario: 'latency-echo-c100', engine: 'c-ref', fraction: null, offeredPerS: null, failure: null });
    expect(probe.loadgen).toMatchObject({ mode: 'closed', connections: 100, depth: 16 });
    const saturation = probe.loadgen?.messages_per_s ?? 0;
    const points = results.latencyRuns.filter((r) => r.kind === 'point');
    expect(points.map((p) => `${p.run} ${p.fraction}`).sort()).toEqual(
      [1, 2].flatMap((run) => QUICK_LATENCY_FRACTIONS.map((f) => `${run} ${f}`)).sort(),
    );
    for (const p of points) {
      expect(p.failure).toBeNull();
      expect(p.offeredPerS).toBe(Math.round((p.fraction ?? 0) * saturation));
      expect(p.loadgenArgs).toEqual(expect.arrayContaining(['--rate', String(p.offeredPerS), '--depth', '16']));
      expect(p.loadgen).toMatchObject({ mode: 'open', offered_per_s: p.offeredPerS, connections: 100 });
      expect(p.rate).toBe(p.loadgen?.deliveries_per_s);
      expect(p.loadgen?.latency_us.p999).toBeGreaterThanOrEqual(p.loadgen?.latency_us.p99 ?? Infinity);
    }
  });

  it('prints and writes the rate within the p99 bound and the curve, and draws it', () => {
    expect(bench.stdout).toMatch(/^latency-echo-c100\s+c-ref\s+[\d.]+[kM]?\s/m);
    const report = readFileSync(join(out, 'report.md'), 'utf8');
    expect(report).toContain('## Latency under a fixed offered load');
    expect(report).toMatch(/^\| latency-echo-c100 \| c-ref \| [\d.]+[kM]? \| .+ \|/m);
    for (const f of QUICK_LATENCY_FRACTIONS) expect(report).toMatch(new RegExp(`^\\| c-ref \\| ${Math.round(f * 100)}% \\|`, 'm'));
    expect(report).toMatch(/^\| echo-c10 \| c-ref \|/m);
    expect(readFileSync(join(out, 'chart.svg'), 'utf8')).toContain('latency-echo-c100: latency vs messages/s achieved');
  });

  it('still redraws a results.json written before the latency sweep existed', async () => {
    const again = await cli(['bench', '--from', BEFORE_LATENCY, '--out', join(dir, 'published')]);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    const report = readFileSync(join(dir, 'published', 'report.md'), 'utf8');
    expect(report).toMatch(/^\| echo-c100 \| select \|/m);
    expect(report).not.toContain('## Latency');
    // Its cost curve was select() alone, stored without a backend.
    expect(report).toMatch(/^\| idle fds \| select addon µs \| select C µs \|$/m);
    expect(report).toMatch(/^\| 1000 \| [\d.]+ \([\d.–]+\) \| [\d.]+ \([\d.–]+\) \|$/m);
  });

  it('--compare of the run with itself: no significant difference anywhere, compare.md beside B', async () => {
    const compared = await cli(['bench', '--compare', join(out, 'results.json'), out]);
    expect(compared.stderr).toBe('');
    expect(compared.code).toBe(0);
    const rows = compared.stdout.split('\n').filter((line) => /^(echo-c10|latency-echo-c100) /.test(line));
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(row).toMatch(/\(2\)\s+.*\(2\)\s+1\.00\s+[\d.]+–[\d.∞]+\s+no significant difference$/);
    const markdown = readFileSync(join(out, 'compare.md'), 'utf8');
    expect(markdown).toMatch(/^\| latency-echo-c100 \| c-ref \| msgs\/s at p99 ≤ 5 ms \|.*\| no significant difference \|$/m);
    expect(markdown).toMatch(/^\| echo-c10 \| c-ref \| msgs\/s \|.*\| no significant difference \|$/m);
  });

  it('--latency with --scenarios is a usage error (exit 2)', async () => {
    const bad = await cli(['bench', '--latency', '--scenarios', 'echo-c10']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--latency and --sizes choose the scenarios/);
  });
});
