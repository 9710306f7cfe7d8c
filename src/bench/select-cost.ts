// The select() cost curve: one call with 1 ready fd among K idle ones, through the addon and in C.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { BUILD_DIR } from '../package.js';

const execFileAsync = promisify(execFile);

/** The C program and the addon's twin of it (a separate Node process, so its fds start low). */
const C_SELECTCOST = `${BUILD_DIR}selectchat-selectcost`;
const ADDON_SELECTCOST = fileURLToPath(new URL('./select-cost-worker.js', import.meta.url));

/** Longest one curve may take beyond its time budget. */
const SLACK_MS = 20_000;

/** One point of a curve. */
export interface SelectCostPoint {
  idle: number;
  us_per_call: number;
  calls: number;
}

/** Both curves of one measurement. */
export interface SelectCostRun {
  run: number;
  addon: SelectCostPoint[];
  c: SelectCostPoint[];
}

/** Measures both curves, C first, each point for at most secondsPerPoint. */
export async function measureSelectCost(run: number, idle: number[], secondsPerPoint: number): Promise<SelectCostRun> {
  const args = ['--idle', idle.join(','), '--seconds', String(secondsPerPoint)];
  const timeout = idle.length * secondsPerPoint * 1000 + SLACK_MS;
  const c = await points(C_SELECTCOST, args, timeout);
  const addon = await points(process.execPath, [ADDON_SELECTCOST, ...args], timeout);
  return { run, addon, c };
}

/** Runs one curve's program and returns its points. */
async function points(command: string, args: string[], timeout: number): Promise<SelectCostPoint[]> {
  const { stdout } = await execFileAsync(command, args, { timeout });
  return (JSON.parse(stdout) as { points: SelectCostPoint[] }).points;
}
