// A latency sweep's runs: the closed-loop probe that finds an engine's saturation rate, and the
// open-loop points that each offer a fraction of it, every one on a fresh server.
import { emptyRun, measureLoad, type LoadRun, type LoadSettings } from './load-run.js';
import type { BenchEngine, LatencyScenario } from './scenarios.js';

/** One run of a latency sweep, as results.json keeps it; `scenario` is the sweep's id. */
export interface LatencyRun extends LoadRun {
  /** probe: the closed-loop run whose rate is the engine's saturation; point: one offered rate. */
  kind: 'probe' | 'point';
  /** A point's share of its engine's saturation rate. */
  fraction: number | null;
  /** A point's --rate: lines (chat: messages) per second over all senders. */
  offeredPerS: number | null;
}

/** The probe's closed-loop rate in the generator's --rate unit: lines (chat: messages) per second. */
export function saturationRate(probe: LatencyRun | undefined): number | null {
  return probe?.loadgen?.messages_per_s || null;
}

/** Runs the sweep's load closed loop, depth full, on a fresh server: the engine's saturation. */
export async function measureProbe(sweep: LatencyScenario, engine: BenchEngine, settings: LoadSettings): Promise<LatencyRun> {
  const run = await measureLoad(sweep.load, engine, 1, settings);
  return { ...run, scenario: sweep.id, kind: 'probe', fraction: null, offeredPerS: null };
}

/** Offers fraction × the probe's rate open loop on a fresh server; fails without a probe rate. */
export async function measurePoint(
  sweep: LatencyScenario, engine: BenchEngine, run: number, fraction: number, probe: LatencyRun | undefined, settings: LoadSettings,
): Promise<LatencyRun> {
  const saturation = saturationRate(probe);
  if (saturation === null) {
    const failure = `no saturation rate for ${engine}: its closed-loop probe run failed`;
    return { ...emptyRun(sweep.id, engine, run), flags: ['failed'], failure, kind: 'point', fraction, offeredPerS: null };
  }
  const offeredPerS = Math.max(1, Math.round(fraction * saturation));
  const measured = await measureLoad(sweep.load, engine, run, settings, offeredPerS);
  return { ...measured, scenario: sweep.id, kind: 'point', fraction, offeredPerS };
}
