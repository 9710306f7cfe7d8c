// The load generator (build/Release/selectchat-loadgen) as a child: arguments in, its JSON out.
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { BUILD_DIR } from '../package.js';
import type { LoadScenario } from './scenarios.js';

export const LOADGEN = `${BUILD_DIR}selectchat-loadgen`;

/** Beyond warmup + duration: setup, the chat settle, the generator's own 10 s hard limit. */
const LOADGEN_SLACK_MS = 15_000;

/** The generator's one JSON line, as it prints it. */
export interface LoadgenReport {
  workload: string;
  host: string;
  port: number;
  connections: number;
  senders: number;
  depth: number;
  size: number;
  idle: number;
  /** Idle connections the server answered (the echo of their one line, or the chat welcome);
   *  absent before the generator waited for that. */
  idle_served?: number;
  warmup_s: number;
  duration_s: number;
  messages: number;
  messages_per_s: number;
  deliveries: number;
  deliveries_per_s: number;
  /** p999 (the 99.9th percentile) is absent from reports written before open-loop mode. */
  latency_us: { p50: number; p90: number; p99: number; p999?: number; max: number; count: number };
  /** Open loop (--rate) or closed loop; absent before open-loop mode, which means closed. */
  mode?: 'open' | 'closed';
  /** Open loop: the --rate asked for, lines (chat: messages) per second over all senders. */
  offered_per_s?: number | null;
  /** Open loop: lines due within the measured window. */
  scheduled?: number | null;
  /** Open loop: lines due by the window's end that never went out (every slot was taken). */
  unsent?: number | null;
  /** Open loop: how late lines went out after their intended time, over the window. */
  send_lag_us?: { p50: number; p99: number; max: number } | null;
  cpu_user_s: number;
  cpu_sys_s: number;
  errors: number;
  ok: boolean;
}

/** A finished generator run. */
export interface LoadgenRun {
  report: LoadgenReport | null;
  /** performance.now() when the report arrived: its measured window ended just before. */
  reportedAt: number;
  exitCode: number | null;
  stderr: string;
}

/** The generator's arguments for a scenario against host:port: closed loop, or open loop at offeredPerS. */
export function loadgenArgs(
  scenario: LoadScenario, host: string, port: number, warmupS: number, durationS: number, offeredPerS: number | null = null,
): string[] {
  const args = ['--host', host, '--port', String(port), '--workload', scenario.workload];
  args.push('--connections', String(scenario.connections), '--depth', String(scenario.depth));
  args.push('--size', String(scenario.lineBytes), '--warmup', String(warmupS), '--duration', String(durationS));
  if (scenario.workload === 'chat') args.push('--senders', String(scenario.senders));
  if (scenario.idle > 0) args.push('--idle', String(scenario.idle));
  if (offeredPerS !== null) args.push('--rate', String(offeredPerS));
  return args;
}

/** Runs the generator with args to the end; a missing or broken report comes back as null. */
export function runLoadgen(args: string[], limitMs: number): Promise<LoadgenRun> {
  return new Promise((resolve) => {
    const child = spawn(LOADGEN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let reportedAt = 0;
    const timer = setTimeout(() => child.kill('SIGKILL'), limitMs + LOADGEN_SLACK_MS);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      if (!reportedAt && stdout.includes('\n')) reportedAt = performance.now();
    });
    child.stderr.on('data', (chunk: Buffer) => void (stderr += chunk.toString('utf8')));
    const finish = (exitCode: number | null, why = ''): void => {
      clearTimeout(timer);
      resolve({ report: parseReport(stdout), reportedAt: reportedAt || performance.now(), exitCode, stderr: stderr + why });
    };
    child.once('error', (error) => finish(null, `cannot run ${LOADGEN}: ${error.message}`));
    child.once('close', (code) => finish(code));
  });
}

/** The JSON line, or null when the generator printed none (it failed before the run). */
function parseReport(stdout: string): LoadgenReport | null {
  const line = stdout.trim().split('\n').pop();
  if (!line) return null;
  try {
    return JSON.parse(line) as LoadgenReport;
  } catch {
    return null;
  }
}
