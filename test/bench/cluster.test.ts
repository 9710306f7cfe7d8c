// `selectchat bench --scenarios cluster`, kept to seconds: one run of one process, 2 and 4 select
// workers on a private redis-server the bench starts and stops; and the scenario skipped, with its
// reason, where redis-server is missing.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_REDIS } from '../cluster/redis.js';
import { cli, type CliResult } from './cli.js';

/** Three runs of 0.7 s, each with workers and a Redis to start. */
const BENCH_LIMIT_MS = 40_000;
const WINDOW = ['--runs', '1', '--duration', '0.5', '--warmup', '0.2'];

/** The bench's private Redis directories under the temp dir. */
const redisDirs = (): string[] => readdirSync(tmpdir()).filter((name) => name.startsWith('selectchat-bench-redis-'));

describe.skipIf(NO_REDIS !== null)('selectchat bench cluster', () => {
  const dir = mkdtempSync(join(tmpdir(), 'selectchat-cluster-bench-'));
  const before = redisDirs();
  let bench: CliResult;
  let results: any;

  beforeAll(async () => {
    bench = await cli(['bench', '--scenarios', 'cluster', ...WINDOW, '--out', join(dir, 'out')], BENCH_LIMIT_MS);
    results = JSON.parse(readFileSync(join(dir, 'out', 'results.json'), 'utf8'));
  }, BENCH_LIMIT_MS + 5_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs one process, 2 and 4 workers on the chat load, with Redis for the workers only', () => {
    expect(bench.stderr).toBe('');
    expect(bench.code).toBe(0);
    expect(results.parameters.cluster).toMatchObject({ workers: [1, 2, 4], load: { id: 'chat-n100-k10', connections: 100, senders: 10 } });
    const runs = [...results.clusterRuns].sort((a: any, b: any) => a.workers - b.workers);
    expect(runs.map((r: any) => r.workers)).toEqual([1, 2, 4]);
    for (const r of runs) {
      expect(r).toMatchObject({ scenario: 'cluster', engine: 'select', failure: null });
      expect(r.loadgen).toMatchObject({ workload: 'chat', connections: 100, senders: 10, errors: 0, ok: true });
      expect(r.rate).toBeGreaterThan(0);
      expect(r.serverCpuUsPerMsg).toBeGreaterThan(0);
      expect(r.server.exit).toMatchObject({ code: 0, killed: false });
      // Every member was held by some worker, and the share crossing nodes follows from the spread.
      expect(r.membersPerWorker).toHaveLength(r.workers);
      expect(r.membersPerWorker.reduce((a: number, b: number) => a + b, 0)).toBe(100);
    }
    expect(runs[0].server.command).not.toContain('--redis');
    expect(runs[0].crossNodeShare).toBe(0);
    expect(runs[0].redisCpuS).toBeNull();
    for (const r of runs.slice(1)) {
      expect(r.server.command).toMatch(new RegExp(`--workers ${r.workers} --redis unix://\\S+/r\\.sock`));
      expect(r.crossNodeShare).toBeGreaterThan(0);
      expect(r.redisCpuS).toBeGreaterThanOrEqual(0);
    }
  });

  it('prints and writes the cluster table beside one process, and leaves no Redis behind', () => {
    expect(bench.stdout).toMatch(/^cluster: chat N=100 K=10 on the select engine/m);
    for (const label of ['one process', '2 workers', '4 workers']) expect(bench.stdout).toMatch(new RegExp(`^${label}\\s+[\\d.]+[kM]?\\s`, 'm'));
    const report = readFileSync(join(dir, 'out', 'report.md'), 'utf8');
    expect(report).toContain('## Cluster: workers sharing one room through Redis');
    expect(report).toMatch(/^\| 2 workers \| [\d.]+[kM]? \| [\d.]+ \| [\d.]+ \| [\d.]+ \| \d+% \|/m);
    const leftover = redisDirs().filter((d) => !before.includes(d) && existsSync(join(tmpdir(), d)));
    expect(leftover).toEqual([]);
  });
});

describe('selectchat bench cluster without redis-server', () => {
  it('skips the scenario and says why, exit 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'selectchat-cluster-skip-'));
    try {
      const bench = await cli(['bench', '--scenarios', 'cluster', ...WINDOW, '--out', dir], BENCH_LIMIT_MS, { ...process.env, PATH: '/nonexistent' });
      expect(bench.code).toBe(0);
      expect(bench.stdout).toMatch(/^skipped\s.*skipped: redis-server is not installed/m);
      const results = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'));
      expect(results.clusterRuns).toEqual([]);
      expect(results.skipped).toEqual([{ scenario: 'cluster', engine: 'select', reason: expect.stringContaining('redis-server is not installed') }]);
      expect(readFileSync(join(dir, 'report.md'), 'utf8')).toMatch(/^\| skipped \|.*redis-server is not installed/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
