// `selectchat bench` end to end, kept to a few seconds: one scenario and one line size, two
// engines, one run, plus the memory measurement; then the report redrawn from results.json, a
// usage error, and the addon's select() cost program.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { measureSelectCost } from '../../src/bench/select-cost.js';
import { FDS_NEEDED_ABOVE_SETSIZE, openFdLimit } from '../helpers/fds.js';
import { cli as runCli, type CliResult } from './cli.js';

const SELECT_COST_WORKER = fileURLToPath(new URL('../../dist/bench/select-cost-worker.js', import.meta.url));
const run = promisify(execFile);
/** The whole smoke bench: four 1.5 s load runs, two memory runs, vega. */
const BENCH_LIMIT_MS = 25_000;

/** Runs the CLI within the smoke bench's limit. */
const cli = (args: string[]): Promise<CliResult> => runCli(args, BENCH_LIMIT_MS);

describe('selectchat bench', () => {
  let dir = '';
  let bench: CliResult;
  let results: any;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'selectchat-bench-'));
    const args = ['bench', '--scenarios', 'echo-c10,size-64k,memory', '--engines', 'select,c-ref'];
    bench = await cli([...args, '--runs', '1', '--duration', '1', '--warmup', '0.5', '--out', join(dir, 'out')]);
    results = JSON.parse(readFileSync(join(dir, 'out', 'results.json'), 'utf8'));
  }, BENCH_LIMIT_MS + 5_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('exits 0 and prints the table with both engines', () => {
    expect(bench.stderr).toBe('');
    expect(bench.code).toBe(0);
    expect(bench.stdout).toMatch(/^echo-c10\s+select\s/m);
    expect(bench.stdout).toMatch(/^echo-c10\s+c-ref\s/m);
  });

  it('results.json holds the machine, the parameters and every raw run with its measurements', () => {
    expect(results.schema).toBe(1);
    expect(results.machine.cores).toBeGreaterThan(0);
    expect(results.machine.node).toBe(process.version);
    expect(results.loadAverage.start).toHaveLength(3);
    expect(results.parameters).toMatchObject({ engines: ['select', 'c-ref'], scenarios: ['echo-c10', 'size-64k', 'memory'], runs: 1, durationS: 1, warmupS: 0.5 });
    const ran = results.loadRuns.map((r: { scenario: string; engine: string }) => `${r.scenario} ${r.engine}`).sort();
    expect(ran).toEqual(['echo-c10 c-ref', 'echo-c10 select', 'size-64k c-ref', 'size-64k select']);
    for (const r of results.loadRuns) {
      expect(r).toMatchObject({ run: 1, failure: null });
      const size = r.scenario === 'size-64k' ? 65536 : 64;
      expect(r.loadgen).toMatchObject({ workload: 'echo', connections: 10, size, ok: true, errors: 0 });
      expect(r.rate).toBe(r.loadgen.deliveries_per_s);
      expect(r.serverCpuS).toBeGreaterThan(0);
      expect(r.serverCpuUsPerMsg).toBeCloseTo((r.serverCpuS / r.loadgen.deliveries) * 1e6, 6);
      expect(r.generatorCores).toBeGreaterThan(0);
      expect(r.stealPct).toBeGreaterThanOrEqual(0);
      expect(r.server.peakRssBytes).toBeGreaterThan(0);
      expect(r.server.exit).toMatchObject({ code: 0, killed: false });
    }
    expect(results.memory).toHaveLength(2);
    for (const m of results.memory) {
      expect(m).toMatchObject({ asked: 1000, held: 1000, refused: 0, failure: null });
      expect(m.rssAfterBytes).toBeGreaterThan(0);
      expect(m.bytesPerConnection).toBe(Math.round((m.rssAfterBytes - m.rssBeforeBytes) / m.held));
    }
  });

  it('report.md has the load, size and memory tables and links the chart', () => {
    const report = readFileSync(join(dir, 'out', 'report.md'), 'utf8');
    expect(report).toMatch(/^\| scenario \| engine \| msgs\/s \|/m);
    expect(report).toMatch(/^\| 64 KiB \| select \| [\d.]+k? \| [\d.]+ \|/m);
    expect(report).toMatch(/^\| 64 KiB \| c-ref \| [\d.]+k? \| [\d.]+ \|/m);
    expect(report).toMatch(/^\| echo-c10 \| select \| [\d.]+k? \|/m);
    expect(report).toMatch(/^\| echo-c10 \| c-ref \| [\d.]+k? \|/m);
    expect(report).toMatch(/^\| select \| 1000 \|/m);
    expect(report).toContain('](chart.svg)');
    expect(report).toContain(results.machine.cpuModel);
  });

  it('chart.svg is an SVG drawn by vega with both engines in it', () => {
    const svg = readFileSync(join(dir, 'out', 'chart.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('>select<');
    expect(svg).toContain('>c-ref<');
    expect(svg).not.toContain('>libuv<');
  });

  it('--from redraws the same report from results.json, and --publish copies it', async () => {
    const again = await cli(['bench', '--from', join(dir, 'out'), '--out', join(dir, 'again'), '--publish', join(dir, 'docs')]);
    expect(again.code).toBe(0);
    const original = readFileSync(join(dir, 'out', 'report.md'), 'utf8');
    expect(readFileSync(join(dir, 'again', 'report.md'), 'utf8')).toBe(original);
    expect(readFileSync(join(dir, 'docs', 'report.md'), 'utf8')).toBe(original);
    expect(readFileSync(join(dir, 'docs', 'chart.svg'), 'utf8').startsWith('<svg')).toBe(true);
  });

  it('--compare with one run a side says "not enough runs", not a verdict', async () => {
    const compared = await cli(['bench', '--compare', join(dir, 'out'), join(dir, 'out'), '--out', join(dir, 'compared')]);
    expect(compared.code).toBe(0);
    const rows = compared.stdout.split('\n').filter((line) => /^(echo-c10|size-64k) /.test(line));
    expect(rows).toHaveLength(4);
    for (const row of rows) expect(row).toMatch(/\s1\.00\s+–\s+not enough runs$/);
    expect(readFileSync(join(dir, 'compared', 'compare.md'), 'utf8')).toContain('not enough runs');
  });

  it('an unknown scenario is a usage error (exit 2) that names the valid ones', async () => {
    const bad = await cli(['bench', '--scenarios', 'echo-c7']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/echo-c7/);
    expect(bad.stderr).toMatch(/echo-c10/);
  });
});

describe('selectchat bench select-cost: three waits, addon and C', () => {
  let dir = '';
  let bench: CliResult;
  let results: any;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'selectchat-cost-'));
    bench = await cli(['bench', '--quick', '--scenarios', 'select-cost', '--runs', '1', '--out', join(dir, 'out')]);
    results = JSON.parse(readFileSync(join(dir, 'out', 'results.json'), 'utf8'));
  }, BENCH_LIMIT_MS + 5_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('measures select() up to 1000 idle fds, poll() and epoll_wait() up to 5000, each both ways', () => {
    expect(bench.stderr).toBe('');
    expect(bench.code).toBe(0);
    expect(results.parameters.selectCostBackends).toEqual(['select', 'poll', 'epoll']);
    const curves = Object.fromEntries(results.selectCost.map((r: any) => [r.backend, r]));
    const idle = (points: { idle: number }[]) => points.map((p) => p.idle);
    expect(idle(curves.select.addon)).toEqual([0, 10, 100, 500, 1000]);
    expect(idle(curves.select.c)).toEqual([0, 10, 100, 500, 1000]);
    for (const backend of ['poll', 'epoll']) {
      expect(idle(curves[backend].addon)).toEqual([0, 10, 100, 500, 1000, 2000, 5000]);
      expect(idle(curves[backend].c)).toEqual([0, 10, 100, 500, 1000, 2000, 5000]);
    }
  });

  it('prints the table with six columns and draws six lines', () => {
    expect(bench.stdout).toMatch(/^idle fds\s+select addon µs\s+select C µs\s+poll addon µs\s+poll C µs\s+epoll addon µs\s+epoll C µs$/m);
    expect(bench.stdout).toMatch(/^\s+5000\s+–\s+–\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d.]+$/m);
    const svg = readFileSync(join(dir, 'out', 'chart.svg'), 'utf8');
    expect(svg).toContain('One wait with 1 ready fd among N idle');
    for (const label of ['>select<', '>poll<', '>epoll<', '>addon<', '>C<']) expect(svg).toContain(label);
  });
});

describe('wait cost through the addon (select-cost-worker --backend)', () => {
  for (const backend of ['select', 'poll', 'epoll']) {
    it(`--backend ${backend} prints one point per idle count with calls and µs per call`, async () => {
      const { stdout } = await run(process.execPath, [SELECT_COST_WORKER, '--backend', backend, '--idle', '0,10', '--iterations', '300']);
      const parsed = JSON.parse(stdout) as { backend: string; points: { idle: number; us_per_call: number; calls: number }[] };
      expect(parsed.backend).toBe(backend);
      expect(parsed.points.map((p) => [p.idle, p.calls])).toEqual([[0, 300], [10, 300]]);
      for (const p of parsed.points) expect(p.us_per_call).toBeGreaterThan(0);
    });
  }

  it('poll and epoll watch idle fds past FD_SETSIZE; select stops below it', async (context) => {
    const limit = openFdLimit();
    if (limit < FDS_NEEDED_ABOVE_SETSIZE) context.skip(`the open-fd limit (ulimit -n) is ${limit}, below ${FDS_NEEDED_ABOVE_SETSIZE}`);
    const points = async (backend: string) => {
      const { stdout } = await run(process.execPath, [SELECT_COST_WORKER, '--backend', backend, '--idle', '1050', '--iterations', '10']);
      return (JSON.parse(stdout) as { points: { idle: number; calls: number }[] }).points;
    };
    for (const backend of ['poll', 'epoll']) expect(await points(backend)).toEqual([expect.objectContaining({ idle: 1050, calls: 10 })]);
    const [select] = await points('select');
    expect(select?.idle).toBeLessThan(1024);
  });

  it('a curve whose program fails becomes a run with its failure, not an exception', async () => {
    const failed = await measureSelectCost(2, 'poll', [6000], 0.01);
    expect(failed).toMatchObject({ run: 2, backend: 'poll', addon: [], c: [], failure: expect.stringContaining('bad --idle: 6000') });
  });

  it('an unknown backend is a usage error (exit 2)', async () => {
    await expect(run(process.execPath, [SELECT_COST_WORKER, '--backend', 'kqueue'])).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('bad --backend: kqueue (select, poll or epoll)'),
    });
  });
});

describe('selectchat bench idle-5000', () => {
  let dir = '';
  let bench: CliResult;
  let results: any;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'selectchat-idle5000-'));
    const args = ['bench', '--scenarios', 'idle-5000', '--engines', 'select,epoll,c-ref', '--runs', '1', '--duration', '0.3', '--warmup', '0.1'];
    bench = await cli([...args, '--out', join(dir, 'out')]);
    results = JSON.parse(readFileSync(join(dir, 'out', 'results.json'), 'utf8'));
  }, BENCH_LIMIT_MS + 5_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('skips select and c-ref with the FD_SETSIZE reason in the terminal, report.md and results.json', () => {
    expect(bench.stderr).toBe('');
    expect(bench.code).toBe(0);
    for (const engine of ['select', 'c-ref']) {
      expect(bench.stdout).toMatch(new RegExp(`^idle-5000\\s+${engine}\\s+skipped\\s.*skipped: select\\(\\) cannot watch fds >= FD_SETSIZE \\(1024\\)`, 'm'));
      const report = readFileSync(join(dir, 'out', 'report.md'), 'utf8');
      expect(report).toMatch(new RegExp(`^\\| idle-5000 \\| ${engine} \\| skipped \\|.*this scenario opens 5000 \\|$`, 'm'));
    }
    expect(results.skipped.map((s: { engine: string }) => s.engine)).toEqual(['select', 'c-ref']);
    for (const s of results.skipped) expect(s).toMatchObject({ scenario: 'idle-5000', reason: expect.stringContaining('FD_SETSIZE') });
    expect(results.loadRuns.map((r: { engine: string }) => r.engine)).toEqual(['epoll']);
  });

  it('epoll serves all 5000: every idle connection answered, no error, nothing refused', () => {
    const [run] = results.loadRuns;
    expect(run.loadgenArgs).toEqual(expect.arrayContaining(['--idle', '4990', '--connections', '10']));
    expect(run.server.command).toContain('--max-clients 6000');
    expect(run.loadgen).toMatchObject({ workload: 'idle', idle: 4990, idle_served: 4990, errors: 0, ok: true });
  });
});
