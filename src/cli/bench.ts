// `selectchat bench`: the command line of the benchmark — flags, presets, where results go.
import { GENERATOR_BOUND_CORES, HIGH_STEAL_PCT } from '../bench/load-run.js';
import { compareMarkdown, compareResults, compareTable, settingNotes } from '../bench/compare.js';
import {
  COMPARE_FILE, publish, readResults, readResultsFile, resultsFolder, ResultsFileError, writeComparison, writeOutputs,
} from '../bench/outputs.js';
import { terminalReport } from '../bench/report.js';
import { textTable } from '../bench/table.js';
import type { BenchParameters, BenchResults } from '../bench/results.js';
import { checkBuilt, measure } from '../bench/runner.js';
import {
  ALL_SCENARIO_IDS, BENCH_MAX_CLIENTS, CLUSTER_ID, CLUSTER_LOAD, CLUSTER_WORKERS, COST_BACKENDS, SELECT_COST_MAX_IDLE, ENGINES, FULL_PRESET, LATENCY_P99_BOUND_US, LATENCY_SCENARIOS, LOAD_SCENARIOS,
  MEMORY_CONNECTIONS, MEMORY_ID, QUICK_PRESET, SELECT_COST_ID, SELECT_COST_IDLE, SIZE_SCENARIO_IDS, type Preset,
} from '../bench/scenarios.js';
import { UsageError, integerFlag, numberFlag, parseFlags } from './options.js';

/** Most runs per figure the flag accepts. */
const MAX_RUNS = 100;
/** The measured window and warm-up the generator accepts. */
const MIN_DURATION_S = 0.001;
const MAX_SECONDS = 3600;
/** Column of the scenario titles in the usage text. */
const ID_WIDTH = 22;
/** "2, 5, 10 ... 120%": a preset's latency fractions as the usage text shows them. */
const percents = (fractions: readonly number[]): string => `${fractions.map((f) => Math.round(f * 100)).join(', ')}%`;

export const BENCH_USAGE = `usage: selectchat bench [options]
       selectchat bench --compare A B [--out DIR]

Runs each server (our loop on select, poll and epoll, the libuv twin, and two yardsticks: net-ref,
a hand-tuned plain Node net server, and c-ref, a C select() server) as a fresh child per
configuration against the C load generator, engines interleaved run by run; reports medians
with min–max, ratios to c-ref, the targets met or missed, server CPU per message, latency
under a fixed offered load, line sizes, the select()/poll()/epoll cost curves and memory per
connection.

  --quick              the short preset (~1.5 min): ${QUICK_PRESET.scenarios.join(', ')};
                       ${QUICK_PRESET.runs} runs (${QUICK_PRESET.microRuns} of ${SELECT_COST_ID} and ${MEMORY_ID}), ${QUICK_PRESET.warmupS} s warm-up + ${QUICK_PRESET.durationS} s;
                       no idle-5000, no cluster, no latency sweep, no sizes
                       (the full preset: everything, ${FULL_PRESET.runs} runs, ~115 min on a quiet machine)
  --latency            only the latency sweeps (${FULL_PRESET.latencyScenarios.join(', ')}; with --quick
                       ${QUICK_PRESET.latencyScenarios.join(', ')} at ${percents(QUICK_PRESET.latencyFractions)}, ~2 min)
  --sizes              only the line-size sweep (${SIZE_SCENARIO_IDS.join(', ')})
  --engines LIST       comma-separated, from ${ENGINES.join(', ')} (default all)
  --scenarios LIST     comma-separated ids (default all; see below)
  --duration SEC       measured window per run (default ${FULL_PRESET.durationS}; quick ${QUICK_PRESET.durationS})
  --warmup SEC         load before the window (default ${FULL_PRESET.warmupS}; quick ${QUICK_PRESET.warmupS})
  --runs R             runs per figure, cost curves and memory included (default ${FULL_PRESET.runs};
                       quick ${QUICK_PRESET.runs}, and ${QUICK_PRESET.microRuns} of the cost curves and memory)
  --out DIR            results folder (default bench-results/<timestamp>)
  --from DIR           measure nothing: redraw the report and chart from DIR/results.json
  --publish DIR        also copy report.md, chart.svg and results.json to DIR (e.g. docs/bench)
  --compare A B        measure nothing: compare two results (each a results.json or its folder),
                       per scenario × engine B's median over A's with a bootstrap 95% interval and
                       a verdict (faster, slower, no significant difference, not enough runs);
                       prints the table and writes ${COMPARE_FILE} to --out DIR, else beside B

scenarios:
${LOAD_SCENARIOS.map((s) => `  ${s.id.padEnd(ID_WIDTH)} ${s.title}`).join('\n')}
${LATENCY_SCENARIOS.map((s) => `  ${s.id.padEnd(ID_WIDTH)} latency sweep: ${s.title}`).join('\n')}
  ${CLUSTER_ID.padEnd(ID_WIDTH)} ${CLUSTER_LOAD.title} on ${CLUSTER_WORKERS.filter((w) => w > 1).join(' and ')} select workers (serve --workers N) sharing one
  ${''.padEnd(ID_WIDTH)} room through a private redis-server, beside one process; skipped without redis-server
  ${SELECT_COST_ID.padEnd(ID_WIDTH)} one select(), poll() or epoll_wait() call, 1 ready fd among
  ${''.padEnd(ID_WIDTH)} ${SELECT_COST_IDLE.join('/')} idle (select() up to ${SELECT_COST_MAX_IDLE}): addon vs C
  ${MEMORY_ID.padEnd(ID_WIDTH)} RSS with ${MEMORY_CONNECTIONS} idle connections minus RSS with none

A latency sweep first runs its load closed loop on each engine: that rate is the engine's
saturation. Then it offers ${percents(FULL_PRESET.latencyFractions)} of it open loop (each connection on a fixed
schedule, latency from each line's intended send time), a fresh server per point, and quotes
each engine's highest rate with p99 <= ${LATENCY_P99_BOUND_US / 1000} ms.

Writes DIR/results.json (every raw run, machine, versions), DIR/report.md, DIR/chart.svg.
A figure is flagged when the generator used >= ${Math.round(GENERATOR_BOUND_CORES * 100)}% of a core or steal was >= ${HIGH_STEAL_PCT}%.
Exit status 1 when a run failed (its error is in results.json), 2 on a bad command line.
`;

const FLAGS = {
  quick: { type: 'boolean' },
  latency: { type: 'boolean' },
  sizes: { type: 'boolean' },
  engines: { type: 'string' },
  scenarios: { type: 'string' },
  duration: { type: 'string' },
  warmup: { type: 'string' },
  runs: { type: 'string' },
  out: { type: 'string' },
  from: { type: 'string' },
  publish: { type: 'string' },
  compare: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseFlags<typeof FLAGS>>['values'];

/** Splits a comma list and checks every item is one of choices. */
function listFlag<C extends string>(name: string, value: string | undefined, choices: readonly C[], fallback: readonly C[]): C[] {
  if (value === undefined) return [...fallback];
  const items = value.split(',').map((item) => item.trim()).filter(Boolean);
  const unknown = items.filter((item) => !(choices as readonly string[]).includes(item));
  if (items.length === 0 || unknown.length > 0) {
    throw new UsageError(`--${name}: unknown '${unknown.join(', ')}'; choose from ${choices.join(', ')}`);
  }
  return [...new Set(items)] as C[];
}

/** The parameters the flags ask for, on top of the chosen preset. */
function parameters(values: Values): BenchParameters {
  const preset: Preset = values.quick ? QUICK_PRESET : FULL_PRESET;
  const overridden = ['engines', 'scenarios', 'duration', 'warmup', 'runs', 'latency', 'sizes'].some((f) => values[f as keyof typeof values] !== undefined);
  if ((values.latency || values.sizes) && values.scenarios !== undefined) {
    throw new UsageError('--latency and --sizes choose the scenarios: leave out --scenarios');
  }
  const groups = [...(values.latency ? preset.latencyScenarios : []), ...(values.sizes ? SIZE_SCENARIO_IDS : [])];
  const scenarios = listFlag('scenarios', values.scenarios, ALL_SCENARIO_IDS, groups.length > 0 ? groups : preset.scenarios);
  const durationS = numberFlag('duration', values.duration, preset.durationS);
  const warmupS = numberFlag('warmup', values.warmup, preset.warmupS);
  if (durationS < MIN_DURATION_S || durationS > MAX_SECONDS || warmupS > MAX_SECONDS) {
    throw new UsageError(`--duration must be above 0 and it and --warmup at most ${MAX_SECONDS} s`);
  }
  const runs = integerFlag('runs', values.runs, preset.runs, 1, MAX_RUNS);
  return {
    preset: overridden ? 'custom' : preset.name,
    engines: listFlag('engines', values.engines, ENGINES, preset.engines),
    scenarios,
    runs,
    microRuns: values.runs === undefined ? preset.microRuns : runs,
    durationS,
    warmupS,
    selectCostIdle: SELECT_COST_IDLE,
    selectCostBackends: [...COST_BACKENDS],
    selectCostSeconds: preset.selectCostSeconds,
    memoryConnections: MEMORY_CONNECTIONS,
    serverMaxClients: BENCH_MAX_CLIENTS,
    generatorBoundCores: GENERATOR_BOUND_CORES,
    highStealPct: HIGH_STEAL_PCT,
    loadScenarios: LOAD_SCENARIOS.filter((s) => scenarios.includes(s.id)),
    latencyScenarios: LATENCY_SCENARIOS.filter((s) => scenarios.includes(s.id)),
    latencyFractions: [...preset.latencyFractions],
    latencyBoundUs: LATENCY_P99_BOUND_US,
    cluster: scenarios.includes(CLUSTER_ID) ? { load: CLUSTER_LOAD, workers: [...CLUSTER_WORKERS] } : null,
  };
}

/** A folder name from the start time: 2025-01-31T09-05-00Z. */
function timestamp(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
}

/** Runs `selectchat bench`; resolves with the exit code. */
export async function bench(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, FLAGS, true);
  if (values.help) {
    process.stdout.write(BENCH_USAGE);
    return 0;
  }
  if (values.compare) return compare(values, positionals);
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}' (two results go after --compare)`);
  let results: BenchResults;
  let out: string;
  if (values.from !== undefined) {
    results = readResultsFlag(values.from);
    out = values.out ?? values.from;
  } else {
    const p = parameters(values);
    checkBuilt();
    out = values.out ?? `bench-results/${timestamp()}`;
    results = await measure(p);
  }
  await writeOutputs(out, results);
  process.stdout.write(`${terminalReport(results)}\nresults: ${out}/ (results.json, report.md, chart.svg)\n`);
  if (values.publish !== undefined) {
    publish(out, values.publish);
    process.stdout.write(`published to ${values.publish}/\n`);
  }
  const failed = [...results.loadRuns, ...results.latencyRuns, ...results.clusterRuns].filter((r) => r.flags.includes('failed')).length +
    results.selectCost.filter((r) => r.failure).length;
  return failed > 0 ? 1 : 0;
}

/** --compare A B: the table on stdout, compare.md in --out DIR or else in B's folder. */
function compare(values: Values, positionals: string[]): number {
  const [aPath, bPath] = positionals;
  if (positionals.length !== 2 || aPath === undefined || bPath === undefined) {
    throw new UsageError('--compare needs two results: --compare A B (each a results.json or the folder holding it)');
  }
  const other = Object.entries(values).find(([flag, value]) => value !== undefined && flag !== 'compare' && flag !== 'out');
  if (other) throw new UsageError(`--compare measures nothing and takes only --out, not --${other[0]}`);
  const a = readResultsArg('--compare', () => readResultsFile(aPath));
  const b = readResultsArg('--compare', () => readResultsFile(bPath));
  const comparisons = compareResults(a, b);
  if (comparisons.length === 0) {
    process.stderr.write(`selectchat bench: ${aPath} and ${bPath} share no scenario on the same engine: nothing to compare\n`);
    return 1;
  }
  const file = writeComparison(values.out ?? resultsFolder(bPath), compareMarkdown(a, b, aPath, bPath, comparisons));
  const notes = settingNotes(a, b).map((n) => `note: ${n}\n`).join('');
  process.stdout.write(`A: ${aPath}\nB: ${bPath}\n${notes}\n${textTable(compareTable(comparisons))}\n\ncomparison: ${file}\n`);
  return 0;
}

/** --from DIR: a missing or foreign results.json is a usage error. */
function readResultsFlag(dir: string): BenchResults {
  return readResultsArg('--from', () => readResults(dir));
}

/** Reads results for a flag; a missing or foreign file is a usage error naming the flag. */
function readResultsArg(flag: string, read: () => BenchResults): BenchResults {
  try {
    return read();
  } catch (error) {
    if (error instanceof ResultsFileError) throw new UsageError(`${flag}: ${error.message}`);
    throw error;
  }
}
