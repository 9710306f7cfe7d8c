// The shape of results.json: every raw run, the machine, the versions, the parameters.
import type { ClusterRun } from './cluster-run.js';
import type { LatencyRun } from './latency-run.js';
import type { LoadRun } from './load-run.js';
import type { LoadAverage, Machine } from './machine.js';
import type { MemoryRun } from './memory.js';
import type { BenchEngine, CostBackend, LatencyScenario, LoadScenario } from './scenarios.js';
import type { SelectCostRun } from './select-cost.js';

/** Bumped when a field changes meaning. Fields only added (the latency sweep's) keep it: a file
 *  without them is read as a bench that ran no such thing. */
export const RESULTS_SCHEMA = 1;

/** What the bench was asked to run. */
export interface BenchParameters {
  preset: 'full' | 'quick' | 'custom';
  engines: BenchEngine[];
  scenarios: string[];
  runs: number;
  /** Runs of the cost curves and the memory measurement; absent in older files (= runs). */
  microRuns: number;
  durationS: number;
  warmupS: number;
  /** Idle counts of the cost curves (select()'s stops at 1000). */
  selectCostIdle: number[];
  /** The waits measured; absent in files from before poll and epoll (select only). */
  selectCostBackends: CostBackend[];
  selectCostSeconds: number;
  memoryConnections: number;
  serverMaxClients: number;
  generatorBoundCores: number;
  highStealPct: number;
  /** The load scenarios run, in full (connections, depth, senders, idle, line size). */
  loadScenarios: LoadScenario[];
  /** The latency sweeps run, each with its load in full. */
  latencyScenarios: LatencyScenario[];
  /** Fractions of each engine's saturation rate a sweep offers. */
  latencyFractions: number[];
  /** A sweep's quoted rate is the highest whose p99 is at most this. */
  latencyBoundUs: number;
  /** The cluster scenario, when it was asked for: its load and the process counts compared. */
  cluster: { load: LoadScenario; workers: number[] } | null;
}

/** A scenario an engine could not take part in, and why (reported, never a silent gap). */
export interface SkippedRun {
  scenario: string;
  engine: BenchEngine;
  reason: string;
}

/** One bench, as saved. */
export interface BenchResults {
  schema: number;
  startedAt: string;
  finishedAt: string;
  parameters: BenchParameters;
  machine: Machine;
  loadAverage: { start: LoadAverage; end: LoadAverage };
  /** Steal over the whole bench, percent of the machine's CPU time. */
  stealPct: number;
  loadRuns: LoadRun[];
  /** The latency sweeps' probes and points. */
  latencyRuns: LatencyRun[];
  selectCost: SelectCostRun[];
  memory: MemoryRun[];
  /** Scenario × engine pairs not run, with the reason; absent in files from before idle-5000. */
  skipped: SkippedRun[];
  /** The cluster scenario's runs; absent in files from before it. */
  clusterRuns: ClusterRun[];
}
