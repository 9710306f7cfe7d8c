// One measured load run: a fresh server, the generator against it, the server's CPU over the window.
import { CpuTrace } from './cpu-trace.js';
import { loadAverage } from './machine.js';
import { loadgenArgs, runLoadgen, type LoadgenReport, type LoadgenRun } from './run-loadgen.js';
import { ServerProcess, type ServerExit } from '../process/server-process.js';
import { serverCommand } from './run-server.js';
import type { BenchEngine, LoadScenario } from './scenarios.js';

/** A generator using this much of one core may be what limits the figure. */
export const GENERATOR_BOUND_CORES = 0.9;
/** Server stderr kept per run, for the report of a failed run. */
const STDERR_KEEP_BYTES = 4096;
/** Steal above this share of the machine's CPU time makes a figure suspect. */
export const HIGH_STEAL_PCT = 5;
/** Open loop: the generator's own p99 lateness from which its percentiles are suspect (a fifth
 *  of the 5 ms bound; on a quiet machine it is tens of µs). */
export const GENERATOR_LATE_US = 1000;

/** Why a run's figure deserves a second look. */
export type RunFlag = 'generator-bound' | 'generator-late' | 'steal' | 'errors' | 'failed';

/** Everything one run measured, raw, as results.json keeps it. */
export interface LoadRun {
  scenario: string;
  engine: BenchEngine;
  run: number;
  startedAt: string;
  server: { command: string; peakRssBytes: number | null; exit: ServerExit | null; stderr: string };
  loadgenArgs: string[];
  loadgen: LoadgenReport | null;
  loadgenStderr: string;
  /** Messages/s (echo) or deliveries/s (chat) over the measured window. */
  rate: number | null;
  /** Server CPU seconds (user + system) over the measured window. */
  serverCpuS: number | null;
  serverCpuUsPerMsg: number | null;
  /** Generator CPU seconds per second of window: 1 = one whole core. */
  generatorCores: number | null;
  stealPct: number | null;
  loadAverage1m: number;
  flags: RunFlag[];
  failure: string | null;
}

/** Settings shared by every run of a bench. */
export interface LoadSettings {
  warmupS: number;
  durationS: number;
}

/** A run that measured nothing yet. */
export function emptyRun(scenario: string, engine: BenchEngine, run: number): LoadRun {
  return {
    scenario, engine, run, startedAt: new Date().toISOString(),
    server: { command: '', peakRssBytes: null, exit: null, stderr: '' },
    loadgenArgs: [], loadgen: null, loadgenStderr: '', rate: null, serverCpuS: null, serverCpuUsPerMsg: null,
    generatorCores: null, stealPct: null, loadAverage1m: loadAverage()[0], flags: [], failure: null,
  };
}

/** Runs scenario against a fresh engine server once: closed loop, or open loop at offeredPerS. */
export async function measureLoad(
  scenario: LoadScenario, engine: BenchEngine, run: number, settings: LoadSettings, offeredPerS: number | null = null,
): Promise<LoadRun> {
  const result = emptyRun(scenario.id, engine, run);
  let server: ServerProcess;
  try {
    const { command, args } = serverCommand(engine, scenario.mode);
    server = await ServerProcess.start(command, args, { stderrKeepBytes: STDERR_KEEP_BYTES });
  } catch (error) {
    result.failure = (error as Error).message;
    result.flags.push('failed');
    return result;
  }
  result.server.command = server.commandLine;
  const trace = new CpuTrace(server.pid);
  trace.start();
  result.loadgenArgs = loadgenArgs(scenario, server.host, server.port, settings.warmupS, settings.durationS, offeredPerS);
  const generated = await runLoadgen(result.loadgenArgs, (settings.warmupS + settings.durationS) * 1000);
  trace.sample();
  trace.stop();
  result.server.peakRssBytes = server.memory()?.peakRssBytes ?? null;
  result.server.exit = await server.stop();
  result.server.stderr = server.stderr;
  judge(result, generated, trace);
  return result;
}

/**
 * Fills a run in from the generator's report and the server's CPU trace: rate, CPU per message
 * over the generator's window, generator CPU, steal, and the flags. A missing report fails it.
 */
export function judge(result: LoadRun, generated: LoadgenRun, trace: CpuTrace): void {
  result.loadgen = generated.report;
  result.loadgenStderr = generated.stderr.trim();
  const report = generated.report;
  if (!report) {
    result.failure = `load generator failed (exit ${generated.exitCode}): ${generated.stderr.trim()}`;
    result.flags.push('failed');
    return;
  }
  // The window closed just before the report arrived and lasted duration_s by the generator's clock.
  const window = trace.window(generated.reportedAt - report.duration_s * 1000, generated.reportedAt);
  result.rate = report.deliveries_per_s;
  result.generatorCores = (report.cpu_user_s + report.cpu_sys_s) / report.duration_s;
  if (window) {
    result.serverCpuS = window.cpuS;
    result.stealPct = window.stealPct;
    result.serverCpuUsPerMsg = report.deliveries > 0 ? (window.cpuS / report.deliveries) * 1e6 : null;
  }
  if (result.generatorCores >= GENERATOR_BOUND_CORES) result.flags.push('generator-bound');
  if ((report.send_lag_us?.p99 ?? 0) >= GENERATOR_LATE_US) result.flags.push('generator-late');
  if ((result.stealPct ?? 0) >= HIGH_STEAL_PCT) result.flags.push('steal');
  if (report.errors > 0 || !report.ok) result.flags.push('errors');
}
