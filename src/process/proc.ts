// Readings from /proc: a process's CPU time and memory, and the machine's CPU time by kind.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Linux's usual USER_HZ, used when getconf cannot say. */
const DEFAULT_CLOCK_TICKS = 100;
/** utime and stime: fields 14 and 15 of /proc/PID/stat, i.e. 11 and 12 after the ')' of comm. */
const UTIME_AFTER_COMM = 11;
const STIME_AFTER_COMM = 12;
/** Index of steal in the "cpu" line of /proc/stat, after the label. */
const STEAL_FIELD = 7;
/** user nice system idle iowait irq softirq steal: guest time is already inside user. */
const TIME_FIELDS = 8;

let clockTicks: number | null = null;

/** Clock ticks per second of /proc's CPU counters (USER_HZ). */
export function clockTicksPerSecond(): number {
  if (clockTicks === null) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || DEFAULT_CLOCK_TICKS;
    } catch {
      clockTicks = DEFAULT_CLOCK_TICKS;
    }
  }
  return clockTicks;
}

/** CPU seconds (user + system, all threads) a live process has used, or null once it is gone. */
export function processCpuSeconds(pid: number): number | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // comm may hold spaces and parentheses: the fields start after its last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[UTIME_AFTER_COMM]) + Number(fields[STIME_AFTER_COMM]);
  return ticks / clockTicksPerSecond();
}

/** A process's resident memory now and at its peak, in bytes. */
export interface ProcessMemory {
  rssBytes: number;
  peakRssBytes: number;
}

/** VmRSS and VmHWM of a live process, or null once it is gone. */
export function processMemory(pid: number): ProcessMemory | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const kib = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  return { rssBytes: kib('VmRSS') * 1024, peakRssBytes: kib('VmHWM') * 1024 };
}

/** The machine's CPU time so far, all cores, in ticks: the whole and the part stolen by the host. */
export interface CpuTimes {
  total: number;
  steal: number;
}

/** Reads the "cpu" line of /proc/stat. */
export function machineCpuTimes(): CpuTimes {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  const values = line.trim().split(/\s+/).slice(1, 1 + TIME_FIELDS).map(Number);
  return { total: values.reduce((sum, v) => sum + v, 0), steal: values[STEAL_FIELD] ?? 0 };
}

/** Percent of CPU time stolen between two readings. */
export function stealPercent(from: CpuTimes, to: CpuTimes): number {
  const total = to.total - from.total;
  return total > 0 ? ((to.steal - from.steal) / total) * 100 : 0;
}
