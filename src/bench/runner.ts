// The benchmark run: plans every step (interleaved engines, fresh servers), drives them with a
// progress bar, and collects the raw results. `selectchat bench` (src/cli/bench.ts) calls it.
import cliProgress from 'cli-progress';
import { existsSync } from 'node:fs';
import { killAllServers } from '../process/server-process.js';
import { measurePoint, measureProbe } from './latency-run.js';
import { measureLoad, type LoadSettings } from './load-run.js';
import { describeMachine, loadAverage, StealMeter } from './machine.js';
import { measureMemory } from './memory.js';
import { RESULTS_SCHEMA, type BenchParameters, type BenchResults } from './results.js';
import { LOADGEN } from './run-loadgen.js';
import { measureCluster } from './cluster-run.js';
import { noRedisReason } from './redis.js';
import {
  CLUSTER_ENGINE, CLUSTER_ID, costIdleCounts, MEMORY_ID, SELECT_COST_ID, skipReason, type BenchEngine, type CostBackend,
} from './scenarios.js';
import type { SkippedRun } from './results.js';
import { measureSelectCost } from './select-cost.js';

/** The engines (or backends) in run r's order: each run starts with the next one, so none is always first. */
function rotation<T>(engines: readonly T[], run: number): T[] {
  const shift = (run - 1) % engines.length;
  return [...engines.slice(shift), ...engines.slice(0, shift)];
}

/** One unit of work, with the label the progress bar shows. */
interface Step {
  label: string;
  run: (results: BenchResults) => Promise<void>;
}

/**
 * A latency sweep's steps: each engine's closed-loop probe first, then run by run every fraction
 * of its probe rate, engines interleaved; a point reads its probe's rate when it runs.
 */
function sweepSteps(p: BenchParameters, settings: LoadSettings): Step[] {
  const steps: Step[] = [];
  for (const sweep of p.latencyScenarios) {
    for (const engine of rotation(p.engines, 1)) {
      steps.push({ label: `${sweep.id} ${engine} saturation`, run: async (r) => void r.latencyRuns.push(await measureProbe(sweep, engine, settings)) });
    }
    for (let run = 1; run <= p.runs; run++) {
      for (const fraction of p.latencyFractions) {
        for (const engine of rotation(p.engines, run)) {
          steps.push({
            label: `${sweep.id} ${engine} ${Math.round(fraction * 100)}% run ${run}`,
            run: async (r) => {
              const probe = r.latencyRuns.find((l) => l.kind === 'probe' && l.scenario === sweep.id && l.engine === engine);
              r.latencyRuns.push(await measurePoint(sweep, engine, run, fraction, probe, settings));
            },
          });
        }
      }
    }
  }
  return steps;
}

/** Why the cluster scenario cannot run (no redis-server, or its engine left out), or null. */
function clusterSkipReason(p: BenchParameters): string | null {
  if (!p.engines.includes(CLUSTER_ENGINE)) return `the cluster runs the ${CLUSTER_ENGINE} engine, which --engines leaves out`;
  const noRedis = noRedisReason();
  return noRedis === null ? null : `${noRedis}: the workers share their room through Redis`;
}

/** Scenario × engine pairs that cannot run (the select()-bound engines past FD_SETSIZE; the
 *  cluster without redis-server), with why. */
export function skippedPairs(p: BenchParameters): SkippedRun[] {
  const skipped = p.loadScenarios.flatMap((scenario) =>
    p.engines.flatMap((engine) => {
      const reason = skipReason(engine, scenario.connections + scenario.idle);
      return reason === null ? [] : [{ scenario: scenario.id, engine, reason }];
    }),
  );
  const cluster = p.cluster ? clusterSkipReason(p) : null;
  return cluster === null ? skipped : [...skipped, { scenario: CLUSTER_ID, engine: CLUSTER_ENGINE, reason: cluster }];
}

/** Every step in order: the select() curve, memory, each load scenario's interleaved runs, the sweeps. */
function plan(p: BenchParameters): Step[] {
  const steps: Step[] = [];
  const skipped = skippedPairs(p);
  const runsOn = (scenario: string, engine: BenchEngine): boolean => !skipped.some((s) => s.scenario === scenario && s.engine === engine);
  const settings: LoadSettings = { warmupS: p.warmupS, durationS: p.durationS };
  for (let run = 1; run <= p.microRuns && p.scenarios.includes(SELECT_COST_ID); run++) {
    for (const backend of rotation<CostBackend>(p.selectCostBackends, run)) {
      const idle = costIdleCounts(backend, p.selectCostIdle);
      steps.push({
        label: `select-cost ${backend} run ${run}`,
        run: async (r) => void r.selectCost.push(await measureSelectCost(run, backend, idle, p.selectCostSeconds)),
      });
    }
  }
  for (let run = 1; run <= p.microRuns && p.scenarios.includes(MEMORY_ID); run++) {
    for (const engine of rotation(p.engines, run)) {
      steps.push({ label: `memory ${engine} run ${run}`, run: async (r) => void r.memory.push(await measureMemory(engine, run)) });
    }
  }
  for (const scenario of p.loadScenarios) {
    for (let run = 1; run <= p.runs; run++) {
      for (const engine of rotation(p.engines, run).filter((e) => runsOn(scenario.id, e))) {
        steps.push({
          label: `${scenario.id} ${engine} run ${run}`,
          run: async (r) => void r.loadRuns.push(await measureLoad(scenario, engine, run, settings)),
        });
      }
    }
  }
  const cluster = p.cluster;
  for (let run = 1; cluster && runsOn(CLUSTER_ID, CLUSTER_ENGINE) && run <= p.runs; run++) {
    for (const workers of rotation(cluster.workers, run)) {
      steps.push({
        label: `${CLUSTER_ID} ${workers === 1 ? 'one process' : `${workers} workers`} run ${run}`,
        run: async (r) => void r.clusterRuns.push(await measureCluster(cluster.load, workers, run, settings)),
      });
    }
  }
  return [...steps, ...sweepSteps(p, settings)];
}

/** Fails early, with the fix, when the C programs were never built. */
export function checkBuilt(): void {
  if (!existsSync(LOADGEN)) {
    throw new Error(`${LOADGEN} is missing: build the addon and the benchmark programs with 'npm install' (or 'npx node-gyp rebuild')`);
  }
}

/** Runs the steps with a progress bar on a terminal; a signal stops every server child first. */
export async function measure(p: BenchParameters): Promise<BenchResults> {
  const steal = new StealMeter();
  const results: BenchResults = {
    schema: RESULTS_SCHEMA, startedAt: new Date().toISOString(), finishedAt: '', parameters: p,
    machine: describeMachine(), loadAverage: { start: loadAverage(), end: loadAverage() }, stealPct: 0,
    loadRuns: [], latencyRuns: [], selectCost: [], memory: [], skipped: skippedPairs(p), clusterRuns: [],
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

