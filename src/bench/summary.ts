// From raw runs to figures: medians with min–max, flags with how many runs raised them, targets,
// latency curves.
import type { LatencyRun } from './latency-run.js';
import type { LoadRun, RunFlag } from './load-run.js';
import type { BenchResults } from './results.js';
import { COST_BACKENDS, type BenchEngine, type CostBackend } from './scenarios.js';
import { costBackend } from './select-cost.js';

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
  /** Why the engine did not take part (then every figure is null), or null. */
  skipped: string | null;
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

const FLAG_ORDER: RunFlag[] = ['failed', 'errors', 'generator-bound', 'generator-late', 'steal'];

/** The flags raised in some of the runs, each with its count: "generator-bound 2/3". */
function flagNotes(runs: readonly LoadRun[]): string[] {
  return FLAG_ORDER.flatMap((flag) => {
    const count = runs.filter((r) => r.flags.includes(flag)).length;
    return count ? [`${flag} ${count}/${runs.length}`] : [];
  });
}

/** A note when some run's server did not answer every idle connection: "idle served 4100/4990 (fewest)". */
function idleNotes(runs: readonly LoadRun[], idle: number): string[] {
  const served = runs.map((r) => r.loadgen?.idle_served).filter((n): n is number => typeof n === 'number');
  if (idle === 0 || served.length === 0) return [];
  const fewest = Math.min(...served);
  return fewest < idle ? [`idle served ${fewest}/${idle} (fewest)`] : [];
}

/** Summarizes the runs of each scenario × engine, in the order the bench ran them; a skipped pair
 *  is a figure too, with its reason. */
export function figures(results: BenchResults): Figure[] {
  const out: Figure[] = [];
  for (const scenario of results.parameters.loadScenarios) {
    for (const engine of results.parameters.engines) {
      const skipped = results.skipped.find((s) => s.scenario === scenario.id && s.engine === engine);
      if (skipped) {
        out.push({
          scenario: scenario.id, engine, runs: 0, rate: null, cpuUsPerMsg: null, p50Us: null, p99Us: null, generatorCores: null,
          stealPct: null, peakRssBytes: null, errors: 0, notes: [`skipped: ${skipped.reason}`], skipped: skipped.reason,
        });
        continue;
      }
      const runs = results.loadRuns.filter((r) => r.scenario === scenario.id && r.engine === engine);
      if (runs.length === 0) continue;
      const notes = [...flagNotes(runs), ...idleNotes(runs, scenario.idle)];
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
        skipped: null,
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

/** One offered fraction of a latency sweep on one engine, over its runs. */
export interface LatencyPoint {
  scenario: string;
  engine: BenchEngine;
  fraction: number;
  /** Offered, in the unit of rate: lines/s for echo, deliveries/s for chat (messages × receivers). */
  offered: Spread | null;
  /** Achieved: messages/s (echo) or deliveries/s (chat), as every load figure. */
  rate: Spread | null;
  /** What the generator got through of what it offered, percent. */
  keptUpPct: Spread | null;
  p50Us: Spread | null;
  p90Us: Spread | null;
  p99Us: Spread | null;
  p999Us: Spread | null;
  maxUs: Spread | null;
  /** How late the generator itself put lines out: its own share of every latency. */
  sendLagP99Us: Spread | null;
  unsent: Spread | null;
  notes: string[];
}

/** Receivers of each sent line: everyone else in a chat room, the sender itself in echo. */
function receivers(results: BenchResults, sweep: string): number {
  const load = results.parameters.latencyScenarios.find((s) => s.id === sweep)?.load;
  return load?.mode === 'chat' ? load.connections - 1 : 1;
}

/** A sweep's points (not its probe) on one engine. */
function sweepPoints(results: BenchResults, sweep: string, engine: BenchEngine): LatencyRun[] {
  return results.latencyRuns.filter((r) => r.kind === 'point' && r.scenario === sweep && r.engine === engine);
}

/** Every sweep × engine × fraction, in the order of the parameters. */
export function latencyPoints(results: BenchResults): LatencyPoint[] {
  const p = results.parameters;
  return p.latencyScenarios.flatMap((sweep) =>
    p.engines.flatMap((engine) =>
      p.latencyFractions.flatMap((fraction) => {
        const runs = sweepPoints(results, sweep.id, engine).filter((r) => r.fraction === fraction);
        if (runs.length === 0) return [];
        const latency = (pick: (l: NonNullable<LatencyRun['loadgen']>['latency_us']) => number | undefined) =>
          spread(runs.map((r) => (r.loadgen ? pick(r.loadgen.latency_us) : null)));
        return [{
          scenario: sweep.id,
          engine,
          fraction,
          offered: spread(runs.map((r) => (r.offeredPerS === null ? null : r.offeredPerS * receivers(results, sweep.id)))),
          rate: spread(runs.map((r) => r.rate)),
          keptUpPct: spread(runs.map((r) => (r.loadgen && r.offeredPerS ? (100 * r.loadgen.messages_per_s) / r.offeredPerS : null))),
          p50Us: latency((l) => l.p50),
          p90Us: latency((l) => l.p90),
          p99Us: latency((l) => l.p99),
          p999Us: latency((l) => l.p999),
          maxUs: latency((l) => l.max),
          sendLagP99Us: spread(runs.map((r) => r.loadgen?.send_lag_us?.p99)),
          unsent: spread(runs.map((r) => r.loadgen?.unsent)),
          notes: flagNotes(runs),
        }];
      }),
    ),
  );
}

/**
 * Per run of a sweep on one engine: the highest achieved rate among its points whose p99 was
 * within the bound, 0 when none was. Runs whose points all failed give nothing.
 */
export function rateWithinBoundByRun(results: BenchResults, sweep: string, engine: BenchEngine): number[] {
  const points = sweepPoints(results, sweep, engine).filter((r) => r.loadgen && r.rate !== null);
  const runs = [...new Set(points.map((r) => r.run))].sort((a, b) => a - b);
  return runs.map((run) =>
    Math.max(0, ...points.filter((r) => r.run === run && (r.loadgen?.latency_us.p99 ?? Infinity) <= results.parameters.latencyBoundUs).map((r) => r.rate as number)),
  );
}

/** A sweep on one engine: its saturation rate and its highest rate within the p99 bound. */
export interface SweepFigure {
  scenario: string;
  engine: BenchEngine;
  /** The closed-loop probe's rate: messages/s (echo) or deliveries/s (chat). */
  saturation: number | null;
  withinBound: Spread | null;
}

/** Every sweep × engine that ran. */
export function sweepFigures(results: BenchResults): SweepFigure[] {
  const p = results.parameters;
  return p.latencyScenarios.flatMap((sweep) =>
    p.engines.flatMap((engine) => {
      const probe = results.latencyRuns.find((r) => r.kind === 'probe' && r.scenario === sweep.id && r.engine === engine);
      if (!probe) return [];
      return [{ scenario: sweep.id, engine, saturation: probe.rate, withinBound: spread(rateWithinBoundByRun(results, sweep.id, engine)) }];
    }),
  );
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

/** One point of a wait-cost curve: a backend at an idle count, the addon's and C's µs per call over the runs. */
export interface CostPoint {
  backend: CostBackend;
  idle: number;
  addon: Spread | null;
  c: Spread | null;
}

/** The wait-cost curves, backend by backend (select, poll, epoll), idle counts ascending; a file
 *  from before poll and epoll holds select's alone. */
export function selectCostPoints(results: BenchResults): CostPoint[] {
  return COST_BACKENDS.flatMap((backend) => {
    const runs = results.selectCost.filter((r) => costBackend(r) === backend);
    const idle = [...new Set(runs.flatMap((r) => [...r.c, ...r.addon].map((p) => p.idle)))].sort((a, b) => a - b);
    return idle.map((k) => ({
      backend,
      idle: k,
      addon: spread(runs.map((r) => r.addon.find((p) => p.idle === k)?.us_per_call)),
      c: spread(runs.map((r) => r.c.find((p) => p.idle === k)?.us_per_call)),
    }));
  });
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
