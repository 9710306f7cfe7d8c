// A server's CPU time (one process, or the sum of several: a primary and its workers) and the
// machine's steal, sampled on a timer, read back at any instant.
import { performance } from 'node:perf_hooks';
import { machineCpuTimes, processCpuSeconds } from '../process/proc.js';

/** Time between samples: fine beside USER_HZ's 10 ms ticks, cheap for the runner. */
export const SAMPLE_INTERVAL_MS = 50;

/** One sample: when (performance.now() ms), the process's CPU seconds, the machine's ticks. */
interface Sample {
  t: number;
  cpuS: number;
  total: number;
  steal: number;
}

/** What happened between two instants. */
export interface TraceWindow {
  /** Server CPU seconds, user + system, all threads. */
  cpuS: number;
  /** Percent of the machine's CPU time stolen by the hypervisor. */
  stealPct: number;
}

/**
 * Samples a process every SAMPLE_INTERVAL_MS from start() to stop(). The generator does not
 * say when its window opens, only how long it was, so window() interpolates the counters
 * linearly at the window's edges once the run is over.
 */
export class CpuTrace {
  private readonly samples: Sample[] = [];
  private timer: NodeJS.Timeout | null = null;

  private readonly pids: readonly number[];

  constructor(pid: number | readonly number[]) {
    this.pids = typeof pid === 'number' ? [pid] : pid;
  }

  /** Takes a sample now and then one every interval. */
  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), SAMPLE_INTERVAL_MS);
  }

  /** Takes a last sample and stops the timer. */
  stop(): void {
    this.sample();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Takes one sample (skipped once a process is gone). */
  sample(): void {
    let cpuS = 0;
    for (const pid of this.pids) {
      const each = processCpuSeconds(pid);
      if (each === null) return;
      cpuS += each;
    }
    const { total, steal } = machineCpuTimes();
    this.samples.push({ t: performance.now(), cpuS, total, steal });
  }

  /** CPU and steal between instants from and to (performance.now() ms), or null if not covered. */
  window(from: number, to: number): TraceWindow | null {
    const a = this.at(from);
    const b = this.at(to);
    if (!a || !b) return null;
    const total = b.total - a.total;
    return { cpuS: b.cpuS - a.cpuS, stealPct: total > 0 ? ((b.steal - a.steal) / total) * 100 : 0 };
  }

  /** The counters at instant t, interpolated between the samples around it. */
  private at(t: number): Omit<Sample, 't'> | null {
    const samples = this.samples;
    const after = samples.findIndex((s) => s.t >= t);
    if (after <= 0) return after === 0 && samples[0]?.t === t ? samples[0] : null;
    const p = samples[after - 1] as Sample;
    const q = samples[after] as Sample;
    const f = (t - p.t) / (q.t - p.t);
    const lerp = (x: number, y: number): number => x + (y - x) * f;
    return { cpuS: lerp(p.cpuS, q.cpuS), total: lerp(p.total, q.total), steal: lerp(p.steal, q.steal) };
  }
}
