// `selectchat bench --compare A B`: two results.json files, per scenario × engine the ratio of
// medians B / A with a bootstrap 95 % confidence interval and a verdict, in the spirit of Node's
// benchmark/compare.js and its R script.
import type { BenchResults } from './results.js';
import { machineLine, si } from './report.js';
import { CLUSTER_ENGINE, CLUSTER_ID, type BenchEngine } from './scenarios.js';
import { rateWithinBoundByRun, spread } from './summary.js';
import { markdownTable, type Table } from './table.js';

/** Resamples per interval: enough that the seeded interval does not move in its third digit. */
export const BOOTSTRAP_RESAMPLES = 10_000;
/** The generator's seed: a comparison is a pure function of its two files. */
export const BOOTSTRAP_SEED = 0x5e1ec7;
export const CONFIDENCE = 0.95;
/** Fewer runs than this on either side give no interval. */
export const MIN_RUNS = 2;

export type Verdict = 'faster' | 'slower' | 'no significant difference' | 'not enough runs';

/** One scenario × engine of both files. */
export interface Comparison {
  scenario: string;
  engine: BenchEngine;
  /** What was compared, higher is better: "msgs/s", "deliveries/s", "msgs/s at p99 ≤ 5 ms". */
  metric: string;
  a: number[];
  b: number[];
  /** median(b) / median(a). */
  ratio: number | null;
  low: number | null;
  high: number | null;
  verdict: Verdict;
}

/** A small seeded PRNG (mulberry32): uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The median of a non-empty list. */
function medianOf(values: readonly number[]): number {
  return (spread(values) as { median: number }).median;
}

/** b / a for rates that may be 0: 0 / 0 is "the same", x / 0 is infinitely better. */
function ratioOf(b: number, a: number): number {
  if (a === 0) return b === 0 ? 1 : Infinity;
  return b / a;
}

/** The median of a resample (with replacement) of values. */
function resampledMedian(values: readonly number[], random: () => number): number {
  const sample = values.map(() => values[Math.floor(random() * values.length)] as number);
  return medianOf(sample);
}

/**
 * The percentile bootstrap interval of median(b) / median(a): each side resampled on its own,
 * BOOTSTRAP_RESAMPLES times, from a fixed seed.
 */
export function bootstrapRatio(a: readonly number[], b: readonly number[], seed = BOOTSTRAP_SEED): { low: number; high: number } {
  const random = seededRandom(seed);
  const ratios: number[] = [];
  for (let i = 0; i < BOOTSTRAP_RESAMPLES; i++) ratios.push(ratioOf(resampledMedian(b, random), resampledMedian(a, random)));
  ratios.sort((x, y) => x - y);
  const tail = (1 - CONFIDENCE) / 2;
  return {
    low: ratios[Math.floor(tail * BOOTSTRAP_RESAMPLES)] as number,
    high: ratios[Math.ceil((1 - tail) * BOOTSTRAP_RESAMPLES) - 1] as number,
  };
}

/** Compares the per-run values of one scenario × engine; higher is better. */
export function compareValues(scenario: string, engine: BenchEngine, metric: string, a: number[], b: number[]): Comparison {
  const base = { scenario, engine, metric, a, b };
  if (a.length === 0 || b.length === 0) return { ...base, ratio: null, low: null, high: null, verdict: 'not enough runs' };
  const ratio = ratioOf(medianOf(b), medianOf(a));
  if (a.length < MIN_RUNS || b.length < MIN_RUNS) return { ...base, ratio, low: null, high: null, verdict: 'not enough runs' };
  const { low, high } = bootstrapRatio(a, b);
  const verdict: Verdict = low > 1 ? 'faster' : high < 1 ? 'slower' : 'no significant difference';
  return { ...base, ratio, low, high, verdict };
}

/** Every scenario × engine both files measured: load and size rates, and each sweep's rate within its bound. */
export function compareResults(a: BenchResults, b: BenchResults): Comparison[] {
  const engines = a.parameters.engines.filter((e) => b.parameters.engines.includes(e));
  const out: Comparison[] = [];
  for (const scenario of a.parameters.loadScenarios) {
    if (!b.parameters.loadScenarios.some((s) => s.id === scenario.id)) continue;
    const metric = scenario.mode === 'chat' ? 'deliveries/s' : 'msgs/s';
    for (const engine of engines) {
      const rates = (r: BenchResults): number[] =>
        r.loadRuns.filter((l) => l.scenario === scenario.id && l.engine === engine && l.rate !== null).map((l) => l.rate as number);
      const [x, y] = [rates(a), rates(b)];
      if (x.length + y.length > 0) out.push(compareValues(scenario.id, engine, metric, x, y));
    }
  }
  for (const workers of a.parameters.cluster?.workers ?? []) {
    if (!b.parameters.cluster?.workers.includes(workers)) continue;
    const rates = (r: BenchResults): number[] =>
      r.clusterRuns.filter((c) => c.workers === workers && c.rate !== null).map((c) => c.rate as number);
    const [x, y] = [rates(a), rates(b)];
    const label = `${CLUSTER_ID} (${workers === 1 ? 'one process' : `${workers} workers`})`;
    if (x.length + y.length > 0) out.push(compareValues(label, CLUSTER_ENGINE, 'deliveries/s', x, y));
  }
  for (const sweep of a.parameters.latencyScenarios) {
    if (!b.parameters.latencyScenarios.some((s) => s.id === sweep.id)) continue;
    const unit = sweep.load.mode === 'chat' ? 'deliveries/s' : 'msgs/s';
    const metric = `${unit} at p99 ≤ ${a.parameters.latencyBoundUs / 1000} ms`;
    for (const engine of engines) {
      const [x, y] = [rateWithinBoundByRun(a, sweep.id, engine), rateWithinBoundByRun(b, sweep.id, engine)];
      if (x.length + y.length > 0) out.push(compareValues(sweep.id, engine, metric, x, y));
    }
  }
  return out;
}

/** A ratio with two decimals; ∞ when the base was 0. */
function times(value: number | null): string {
  if (value === null) return '–';
  return Number.isFinite(value) ? value.toFixed(2) : '∞';
}

/** The comparison as a table: medians with run counts, B / A, its interval, the verdict. */
export function compareTable(comparisons: readonly Comparison[]): Table {
  const side = (values: number[]): string => (values.length ? `${si(medianOf(values))} (${values.length})` : '–');
  const rows = comparisons.map((c) => [
    c.scenario,
    c.engine,
    c.metric,
    side(c.a),
    side(c.b),
    times(c.ratio),
    c.low === null ? '–' : `${times(c.low)}–${times(c.high)}`,
    c.verdict,
  ]);
  return {
    header: ['scenario', 'engine', 'metric (higher is better)', 'A median (runs)', 'B median (runs)', 'B / A', `${CONFIDENCE * 100}% CI`, 'verdict'],
    rows,
    align: ['l', 'l', 'l', 'r', 'r', 'r', 'r', 'l'],
  };
}

/** What differs between the two benches' settings, which the reader should weigh. */
export function settingNotes(a: BenchResults, b: BenchResults): string[] {
  const notes: string[] = [];
  const [p, q] = [a.parameters, b.parameters];
  if (p.warmupS !== q.warmupS || p.durationS !== q.durationS) {
    notes.push(`windows differ: A ${p.warmupS} s + ${p.durationS} s, B ${q.warmupS} s + ${q.durationS} s`);
  }
  if (p.latencyBoundUs !== q.latencyBoundUs) notes.push(`p99 bounds differ: A ${p.latencyBoundUs / 1000} ms, B ${q.latencyBoundUs / 1000} ms`);
  if (a.machine.cpuModel !== b.machine.cpuModel || a.machine.cores !== b.machine.cores) notes.push('the machines differ');
  return notes;
}

/** compare.md: both benches, the table, and how to read it. */
export function compareMarkdown(a: BenchResults, b: BenchResults, aPath: string, bPath: string, comparisons: readonly Comparison[]): string {
  const notes = settingNotes(a, b);
  return [
    '# selectchat benchmark: B compared with A',
    '',
    `- A: \`${aPath}\`, measured ${a.startedAt} on ${machineLine(a)}`,
    `- B: \`${bPath}\`, measured ${b.startedAt} on ${machineLine(b)}`,
    ...notes.map((n) => `- Note: ${n}`),
    '',
    markdownTable(compareTable(comparisons)),
    '',
    `B / A is the median of B's runs over the median of A's. The ${CONFIDENCE * 100}% interval is a percentile bootstrap: ` +
      `each side's runs resampled with replacement ${BOOTSTRAP_RESAMPLES} times (seeded, so the same files always give the ` +
      'same table). faster / slower: the whole interval is above / below 1; otherwise no significant difference. ' +
      `With fewer than ${MIN_RUNS} runs on a side there is no interval: not enough runs. With 3 runs a side, only a change ` +
      'that separates every run of B from every run of A counts as significant. Latency sweeps compare, run by run, ' +
      'the highest achieved rate whose p99 stayed within the bound (0 when none did).',
    '',
  ].join('\n');
}
