// The generator's --samples file, and the check that its histogram tells the truth about it.
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import type { LoadgenReport } from '../../src/bench/run-loadgen.js';

/** The histogram's promise: each percentile within 1 % of the exact one. */
export const PERCENTILE_TOLERANCE = 0.01;

/** One measured latency and the stamp of its line (open loop: when it was due), in ns. */
export interface Sample {
  latencyNs: number;
  /** CLOCK_MONOTONIC, the clock of process.hrtime.bigint(). */
  stampNs: bigint;
}

/** Every latency the generator measured, in the order it measured them. */
export function readSamples(file: string): Sample[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [latency, stamp] = line.split(' ');
      return { latencyNs: Number(latency), stampNs: BigInt(stamp as string) };
    });
}

/** The sample at a fraction of the sorted list, ranked as the generator ranks: ceil(f × n), at least 1. */
export function exactPercentile(sorted: readonly number[], fraction: number): number {
  const rank = Math.max(1, Math.ceil(fraction * sorted.length));
  return sorted[rank - 1] as number;
}

/** Checks p50, p90, p99, p99.9 and max of the report against the sorted samples. */
export function expectPercentilesMatch(report: LoadgenReport, samples: readonly Sample[]): void {
  const sorted = samples.map((s) => s.latencyNs).sort((a, b) => a - b);
  const reported: [string, number, number][] = [
    ['p50', report.latency_us.p50, exactPercentile(sorted, 0.5)],
    ['p90', report.latency_us.p90, exactPercentile(sorted, 0.9)],
    ['p99', report.latency_us.p99, exactPercentile(sorted, 0.99)],
    ['p999', report.latency_us.p999 ?? NaN, exactPercentile(sorted, 0.999)],
    ['max', report.latency_us.max, sorted[sorted.length - 1] as number],
  ];
  for (const [name, us, exactNs] of reported) {
    const error = Math.abs(us * 1000 - exactNs) / exactNs;
    expect(error, `${name}: histogram ${us} µs, sorted samples ${exactNs / 1000} µs`).toBeLessThanOrEqual(PERCENTILE_TOLERANCE);
  }
}
