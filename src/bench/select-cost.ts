// The wait-cost curves: one select(), poll() or epoll_wait() with 1 ready fd among K idle ones,
// through the addon and in C. The scenario id stays `select-cost` (README and LEARN.md name it).
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { BUILD_DIR } from '../package.js';
import type { CostBackend } from './scenarios.js';

const execFileAsync = promisify(execFile);

/** The C program and the addon's twin of it (a separate Node process, so its fds start low). */
const C_SELECTCOST = `${BUILD_DIR}selectchat-selectcost`;
const ADDON_SELECTCOST = fileURLToPath(new URL('./select-cost-worker.js', import.meta.url));

/** Longest one curve may take beyond its time budget (5000 listeners to open, Node to start). */
const SLACK_MS = 30_000;

/** One point of a curve. */
export interface SelectCostPoint {
  idle: number;
  us_per_call: number;
  calls: number;
}

/**
 * Both curves of one backend in one run. `backend` is absent in files written before poll and
 * epoll were measured: those runs were select().
 */
export interface SelectCostRun {
  run: number;
  backend?: CostBackend;
  addon: SelectCostPoint[];
  c: SelectCostPoint[];
  /** Why the run measured nothing (a program failed: e.g. something connected to an idle fd). */
  failure?: string;
}

/** The backend a stored run measured (select for files from before the other two). */
export function costBackend(run: SelectCostRun): CostBackend {
  return run.backend ?? 'select';
}

/** Measures one backend's two curves, C first, each point for at most secondsPerPoint; a program
 *  that fails makes a run with its failure, not an exception that would end the bench. */
export async function measureSelectCost(run: number, backend: CostBackend, idle: number[], secondsPerPoint: number): Promise<SelectCostRun> {
  const args = ['--backend', backend, '--idle', idle.join(','), '--seconds', String(secondsPerPoint)];
  const timeout = idle.length * secondsPerPoint * 1000 + SLACK_MS;
  try {
    const c = await points(C_SELECTCOST, args, timeout);
    const addon = await points(process.execPath, [ADDON_SELECTCOST, ...args], timeout);
    return { run, backend, addon, c };
  } catch (error) {
    const e = error as Error & { stderr?: string };
    return { run, backend, addon: [], c: [], failure: (e.stderr?.trim() || e.message).split('\n').slice(-3).join(' ') };
  }
}

/** Runs one curve's program and returns its points. */
async function points(command: string, args: string[], timeout: number): Promise<SelectCostPoint[]> {
  const { stdout } = await execFileAsync(command, args, { timeout });
  return (JSON.parse(stdout) as { points: SelectCostPoint[] }).points;
}
