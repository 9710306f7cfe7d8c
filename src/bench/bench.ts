// `selectchat bench`: plans the runs, drives them with a progress bar, writes the results folder.
import cliProgress from 'cli-progress';
import { existsSync } from 'node:fs';
import { UsageError, integerFlag, numberFlag, parseFlags } from '../cli/options.js';
import { GENERATOR_BOUND_CORES, HIGH_STEAL_PCT, measureLoad, type LoadSettings } from './load-run.js';
import { describeMachine, loadAverage, StealMeter } from './machine.js';
import { measureMemory } from './memory.js';
import { publish, readResults, writeOutputs } from './outputs.js';
import { terminalReport } from './report.js';
import { RESULTS_SCHEMA, type BenchParameters, type BenchResults } from './results.js';
import { LOADGEN } from './run-loadgen.js';
import { killAllServers } from './run-server.js';
import {
  ALL_SCENARIO_IDS, BENCH_MAX_CLIENTS, ENGINES, FULL_PRESET, LINE_BYTES, LOAD_SCENARIOS, MEMORY_CONNECTIONS, MEMORY_ID,
  QUICK_PRESET, SELECT_COST_ID, SELECT_COST_IDLE, type BenchEngine, type Preset,
} from './scenarios.js';
import { measureSelectCost } from './select-cost.js';

/** Most runs per figure the flag accepts. */
const MAX_RUNS = 100;
/** The measured window and warm-up the generator accepts. */
const MIN_DURATION_S = 0.001;
const MAX_SECONDS = 3600;

export const BENCH_USAGE = `usage: selectchat bench [options]

Runs each server (select, libuv, c-ref) as a fresh child per configuration against the C load
generator, engines interleaved run by run; reports medians with min–max, server CPU per
message, the select() cost curve and memory per connection.

  --quick              the short preset (~1 min): ${QUICK_PRESET.scenarios.join(', ')};
                       ${QUICK_PRESET.runs} runs, ${QUICK_PRESET.warmupS} s warm-up + ${QUICK_PRESET.durationS} s
  --engines LIST       comma-separated, from ${ENGINES.join(', ')} (default all)
  --scenarios LIST     comma-separated ids (default all; see below)
  --duration SEC       measured window per run (default ${FULL_PRESET.durationS}; quick ${QUICK_PRESET.durationS})
  --warmup SEC         load before the window (default ${FULL_PRESET.warmupS}; quick ${QUICK_PRESET.warmupS})
  --runs R             runs per figure (default ${FULL_PRESET.runs}; quick ${QUICK_PRESET.runs})
  --out DIR            results folder (default bench-results/<timestamp>)
  --from DIR           measure nothing: redraw the report and chart from DIR/results.json
  --publish DIR        also copy report.md, chart.svg and results.json to DIR (e.g. docs/bench)

scenarios:
${LOAD_SCENARIOS.map((s) => `  ${s.id.padEnd(16)} ${s.title}`).join('\n')}
  ${SELECT_COST_ID.padEnd(16)} one select() call, 1 ready fd among ${SELECT_COST_IDLE.join('/')} idle: addon vs C
  ${MEMORY_ID.padEnd(16)} RSS with ${MEMORY_CONNECTIONS} idle connections minus RSS with none

Writes DIR/results.json (every raw run, machine, versions), DIR/report.md, DIR/chart.svg.
A figure is flagged when the generator used >= ${Math.round(GENERATOR_BOUND_CORES * 100)}% of a core or steal was >= ${HIGH_STEAL_PCT}%.
Exit status 1 when a load run failed (its error is in results.json), 2 on a bad command line.
`;

const FLAGS = {
  quick: { type: 'boolean' },
  engines: { type: 'string' },
  scenarios: { type: 'string' },
  duration: { type: 'string' },
  warmup: { type: 'string' },
  runs: { type: 'string' },
  out: { type: 'string' },
  from: { type: 'string' },
  publish: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

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
function parameters(values: ReturnType<typeof parseFlags<typeof FLAGS>>['values']): BenchParameters {
  const preset: Preset = values.quick ? QUICK_PRESET : FULL_PRESET;
  const overridden = ['engines', 'scenarios', 'duration', 'warmup', 'runs'].some((f) => values[f as keyof typeof values] !== undefined);
  const scenarios = listFlag('scenarios', values.scenarios, ALL_SCENARIO_IDS, preset.scenarios);
  const durationS = numberFlag('duration', values.duration, preset.durationS);
  const warmupS = numberFlag('warmup', values.warmup, preset.warmupS);
  if (durationS < MIN_DURATION_S || durationS > MAX_SECONDS || warmupS > MAX_SECONDS) {
    throw new UsageError(`--duration must be above 0 and it and --warmup at most ${MAX_SECONDS} s`);
  }
  return {
    preset: overridden ? 'custom' : preset.name,
    engines: listFlag('engines', values.engines, ENGINES, preset.engines),
    scenarios,
    runs: integerFlag('runs', values.runs, preset.runs, 1, MAX_RUNS),
    durationS,
    warmupS,
    selectCostIdle: SELECT_COST_IDLE,
    selectCostSeconds: preset.selectCostSeconds,
    memoryConnections: MEMORY_CONNECTIONS,
    serverMaxClients: BENCH_MAX_CLIENTS,
    generatorBoundCores: GENERATOR_BOUND_CORES,
    highStealPct: HIGH_STEAL_PCT,
    loadScenarios: LOAD_SCENARIOS.filter((s) => scenarios.includes(s.id)).map((s) => ({ ...s, lineBytes: LINE_BYTES })),
  };
}

/** The engines in run r's order: each run starts with the next one, so none is always first. */
function rotation(engines: BenchEngine[], run: number): BenchEngine[] {
  const shift = (run - 1) % engines.length;
  return [...engines.slice(shift), ...engines.slice(0, shift)];
}

/** One unit of work, with the label the progress bar shows. */
interface Step {
  label: string;
  run: (results: BenchResults) => Promise<void>;
}

/** Every step in order: the select() curve, memory, then each load scenario's interleaved runs. */
function plan(p: BenchParameters): Step[] {
  const steps: Step[] = [];
  const settings: LoadSettings = { warmupS: p.warmupS, durationS: p.durationS };
  for (let run = 1; run <= p.runs && p.scenarios.includes(SELECT_COST_ID); run++) {
    steps.push({
      label: `select-cost run ${run}`,
      run: async (r) => void r.selectCost.push(await measureSelectCost(run, p.selectCostIdle, p.selectCostSeconds)),
    });
  }
  for (let run = 1; run <= p.runs && p.scenarios.includes(MEMORY_ID); run++) {
    for (const engine of rotation(p.engines, run)) {
      steps.push({ label: `memory ${engine} run ${run}`, run: async (r) => void r.memory.push(await measureMemory(engine, run)) });
    }
  }
  for (const scenario of p.loadScenarios) {
    for (let run = 1; run <= p.runs; run++) {
      for (const engine of rotation(p.engines, run)) {
        steps.push({
          label: `${scenario.id} ${engine} run ${run}`,
          run: async (r) => void r.loadRuns.push(await measureLoad(scenario, engine, run, settings)),
        });
      }
    }
  }
  return steps;
}

/** Fails early, with the fix, when the C programs were never built. */
function checkBuilt(): void {
  if (!existsSync(LOADGEN)) {
    throw new Error(`${LOADGEN} is missing: build the addon and the benchmark programs with 'npm install' (or 'npx node-gyp rebuild')`);
  }
}

/** Runs the steps with a progress bar on a terminal; a signal stops every server child first. */
async function measure(p: BenchParameters): Promise<BenchResults> {
  const steal = new StealMeter();
  const results: BenchResults = {
    schema: RESULTS_SCHEMA, startedAt: new Date().toISOString(), finishedAt: '', parameters: p,
    machine: describeMachine(), loadAverage: { start: loadAverage(), end: loadAverage() }, stealPct: 0,
    loadRuns: [], selectCost: [], memory: [],
  };
  const steps = plan(p);
  const bar = new cliProgress.SingleBar(
    { format: 'bench {bar} {value}/{total} | {duration_formatted} | {step}', hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  const onSignal = (signal: NodeJS.Signals): void => {
    bar.stop();
    killAllServers();
    process.stderr.write(`selectchat bench: ${signal}: stopped\n`);
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  bar.start(steps.length, 0, { step: steps[0]?.label ?? '' });
  try {
    for (const [i, step] of steps.entries()) {
      bar.update(i, { step: step.label });
      await step.run(results);
    }
    bar.update(steps.length, { step: 'done' });
  } finally {
    bar.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  results.finishedAt = new Date().toISOString();
  results.loadAverage.end = loadAverage();
  results.stealPct = steal.percent();
  return results;
}

/** A folder name from the start time: 2025-01-31T09-05-00Z. */
function timestamp(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
}

/** Runs `selectchat bench`; resolves with the exit code. */
export async function bench(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, FLAGS);
  if (values.help) {
    process.stdout.write(BENCH_USAGE);
    return 0;
  }
  let results: BenchResults;
  let out: string;
  if (values.from !== undefined) {
    results = readResults(values.from);
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
  const failed = results.loadRuns.filter((r) => r.flags.includes('failed')).length;
  return failed > 0 ? 1 : 0;
}
