// What the figures were measured on: the machine, the software versions, and how busy it was.
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { FD_SETSIZE } from '../binding/native.js';
import { PACKAGE_ROOT, packageVersion } from '../package.js';
import { machineCpuTimes, stealPercent, type CpuTimes } from '../process/proc.js';

/** The machine and software, recorded once per bench run. */
export interface Machine {
  cpuModel: string;
  cores: number;
  kernel: string;
  memoryBytes: number;
  fdSetSize: number;
  node: string;
  v8: string;
  selectchat: string;
  gitCommit: string | null;
  /** Uncommitted changes in the tree the binaries were built from. */
  gitDirty: boolean | null;
}

/** The 1/5/15-minute load averages: other work on the machine while it ran. */
export type LoadAverage = [number, number, number];

/** Describes this machine and the software under test. */
export function describeMachine(): Machine {
  const git = gitState();
  return {
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    cores: cpus().length,
    kernel: release(),
    memoryBytes: totalmem(),
    fdSetSize: FD_SETSIZE,
    node: process.version,
    v8: process.versions.v8,
    selectchat: packageVersion(),
    gitCommit: git.commit,
    gitDirty: git.dirty,
  };
}

/** The load averages now. */
export function loadAverage(): LoadAverage {
  const [one = 0, five = 0, fifteen = 0] = loadavg();
  return [one, five, fifteen];
}

/** Steal over a stretch of time: made at its start, asked at its end. */
export class StealMeter {
  private readonly from: CpuTimes = machineCpuTimes();
  percent(): number {
    return stealPercent(this.from, machineCpuTimes());
  }
}

/** HEAD and whether the work tree differs from it; nulls outside a git checkout. */
function gitState(): { commit: string | null; dirty: boolean | null } {
  try {
    const run = (args: string[]): string =>
      execFileSync('git', args, { cwd: PACKAGE_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return { commit: run(['rev-parse', 'HEAD']), dirty: run(['status', '--porcelain', '--untracked-files=no']) !== '' };
  } catch {
    return { commit: null, dirty: null };
  }
}
