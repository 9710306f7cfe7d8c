// From raw runs to figures: medians with min–max, flags with how many runs raised them, targets.
import type { LoadRun, RunFlag } from './load-run.js';
import type { BenchResults } from './results.js';
import type { BenchEngine } from './scenarios.js';

/** A median and the range around it. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  n: number;
}

/** One scenario on one engine, over its runs. */
export interface Figure {
  scenario: string;
  engine: BenchEngine;
  runs: number;
  rate: Spread | null;
  cpuUsPerMsg: Spread | null;
  p50Us: Spread | null;
  p99Us: Spread | null;
  generatorCores: Spread | null;
  stealPct: Spread | null;
  peakRssBytes: Spread | null;
  errors: number;
  /** Flags with their run counts: "generator-bound 2/3". */
  notes: string[];
}

/** The median (mean of the middle two for an even count), min and max; null without values. */
export function spread(values: readonly (number | null | undefined)[]): Spread | null {
  const sorted = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b);
  const n = sorted.length;
  if (n === 0) return null;
  const middle = n >> 1;
  const median = n % 2 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
  return { median, min: sorted[0] as number, max: sorted[n - 1] as number, n };
}

const FLAG_ORDER: RunFlag[] = ['failed', 'errors', 'generator-bound', 'steal'];

/** Summarizes the runs of each scenario × engine, in the order the bench ran them. */
export function figures(results: BenchResults): Figure[] {
  const out: Figure[] = [];
  for (const scenario of results.parameters.loadScenarios) {
    for (const engine of results.parameters.engines) {
      const runs = results.loadRuns.filter((r) => r.scenario === scenario.id && r.engine === engine);
      if (runs.length === 0) continue;
      const notes = FLAG_ORDER.flatMap((flag) => {
        const count = runs.filter((r) => r.flags.includes(flag)).length;
        return count ? [`${flag} ${count}/${runs.length}`] : [];
      });
      out.push({
        scenario: scenario.id,
        engine,
        runs: runs.length,
        rate: spread(runs.map((r) => r.rate)),
        cpuUsPerMsg: spread(runs.map((r) => r.serverCpuUsPerMsg)),
        p50Us: spread(runs.map((r) => r.loadgen?.latency_us.p50)),
        p99Us: spread(runs.map((r) => r.loadgen?.latency_us.p99)),
        generatorCores: spread(runs.map((r) => r.generatorCores)),
        stealPct: spread(runs.map((r) => r.stealPct)),
        peakRssBytes: spread(runs.map((r) => r.server.peakRssBytes)),
        errors: runs.reduce((sum, r) => sum + (r.loadgen?.errors ?? 0), 0),
        notes,
      });
    }
  }
  return out;
}

/** A goal from the issue, checked on paired runs. */
export interface Target {
  goal: string;
  /** Median of the per-run ratios (or of the values, for an absolute goal), with min–max. */
  value: Spread | null;
  /** 'x' for a ratio, '/s' for an absolute rate. */
  unit: 'x' | '/s';
  met: boolean | null;
}

/** A ratio goal: engine a over engine b on a metric, per run pair (run r of a with run r of b). */
function ratioTarget(
  runs: LoadRun[], scenario: string, a: BenchEngine, b: BenchEngine,
  metric: 'rate' | 'serverCpuUsPerMsg', bound: number, atLeast: boolean, goal: string,
): Target | null {
  const of = (engine: BenchEngine): LoadRun[] => runs.filter((r) => r.scenario === scenario && r.engine === engine);
  const mine = of(a);
  const theirs = of(b);
  if (mine.length === 0 || theirs.length === 0) return null;
  const ratios = mine.map((r) => {
    const other = theirs.find((t) => t.run === r.run);
    const x = r[metric];
    const y = other?.[metric];
    return x != null && y != null && y > 0 ? x / y : null;
  });
  const value = spread(ratios);
  const met = value ? (atLeast ? value.median >= bound : value.median <= bound) : null;
  return { goal, value, unit: 'x', met };
}

/** The targets that this bench's scenarios and engines can answer. */
export function targets(results: BenchResults): Target[] {
  const runs = results.loadRuns;
  const found: (Target | null)[] = [];
  for (const c of [10, 100]) {
    const id = `echo-c${c}`;
    found.push(ratioTarget(runs, id, 'select', 'c-ref', 'rate', 0.9, true, `${id}: select msgs/s ≥ 0.9× c-ref`));
    found.push(
      ratioTarget(runs, id, 'select', 'c-ref', 'serverCpuUsPerMsg', 1.2, false, `${id}: select CPU/msg ≤ 1.2× c-ref`),
    );
  }
  for (const scenario of results.parameters.loadScenarios.filter((s) => s.group === 'echo')) {
    const goal = `${scenario.id}: select msgs/s ≥ 1.5× libuv`;
    found.push(ratioTarget(runs, scenario.id, 'select', 'libuv', 'rate', 1.5, true, goal));
  }
  const chat = runs.filter((r) => r.scenario === 'chat-n100-k10' && r.engine === 'select');
  if (chat.length > 0) {
    const value = spread(chat.map((r) => r.rate));
    found.push({ goal: 'chat-n100-k10: select ≥ 2 M deliveries/s', value, unit: '/s', met: value ? value.median >= 2e6 : null });
  }
  return found.filter((t): t is Target => t !== null);
}

/** One line size of the size sweep on one engine. */
export interface SizeFigure {
  scenario: string;
  engine: BenchEngine;
  lineBytes: number;
  rate: Spread | null;
  /** Megabytes (10^6 bytes) of lines echoed per second, each way. */
  mbPerS: Spread | null;
}

/** The size sweep: messages/s and MB/s of each line size on each engine. */
export function sizeFigures(results: BenchResults): SizeFigure[] {
  return results.parameters.loadScenarios
    .filter((s) => s.group === 'size')
    .flatMap((s) =>
      results.parameters.engines.flatMap((engine) => {
        const runs = results.loadRuns.filter((r) => r.scenario === s.id && r.engine === engine);
        if (runs.length === 0) return [];
        const rate = spread(runs.map((r) => r.rate));
        const mbPerS = spread(runs.map((r) => (r.rate === null ? null : (r.rate * s.lineBytes) / 1e6)));
        return [{ scenario: s.id, engine, lineBytes: s.lineBytes, rate, mbPerS }];
      }),
    );
}

/** select() cost per idle count: the addon's and C's medians over the runs. */
export function selectCostPoints(results: BenchResults): { idle: number; addon: Spread | null; c: Spread | null }[] {
  const idle = [...new Set(results.selectCost.flatMap((r) => r.c.map((p) => p.idle)))];
  return idle.map((k) => ({
    idle: k,
    addon: spread(results.selectCost.map((r) => r.addon.find((p) => p.idle === k)?.us_per_call)),
    c: spread(results.selectCost.map((r) => r.c.find((p) => p.idle === k)?.us_per_call)),
  }));
}

/** Memory per connection of each engine over its runs. */
export function memoryFigures(results: BenchResults) {
  return results.parameters.engines
    .map((engine) => {
      const runs = results.memory.filter((m) => m.engine === engine);
      return {
        engine,
        runs: runs.length,
        held: spread(runs.map((m) => m.held)),
        rssBefore: spread(runs.map((m) => m.rssBeforeBytes)),
        rssAfter: spread(runs.map((m) => m.rssAfterBytes)),
        bytesPerConnection: spread(runs.map((m) => m.bytesPerConnection)),
        failures: runs.flatMap((m) => (m.failure ? [m.failure] : [])),
      };
    })
    .filter((m) => m.runs > 0);
}
