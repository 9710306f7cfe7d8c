// The targets as data: each of our loop's engines judged on its own, ratios per run pair, too
// few runs and generator-bound runs said beside the verdict, memory and "served all" targets.
// Synthetic results: no server runs here.
import { describe, expect, it } from 'vitest';
import type { LoadRun, RunFlag } from '../../src/bench/load-run.js';
import type { MemoryRun } from '../../src/bench/memory.js';
import type { BenchResults } from '../../src/bench/results.js';
import { LOAD_SCENARIOS, type BenchEngine } from '../../src/bench/scenarios.js';
import { TARGETS, targets, type TargetSpec } from '../../src/bench/summary.js';

/** A load run with just what the targets read. */
function load(scenario: string, engine: BenchEngine, run: number, rate: number, cpu: number, flags: RunFlag[] = [], idleServed?: number): LoadRun {
  const idle = LOAD_SCENARIOS.find((s) => s.id === scenario)?.idle ?? 0;
  return {
    scenario, engine, run, startedAt: '', server: { command: '', peakRssBytes: null, exit: null, stderr: '' }, loadgenArgs: [],
    loadgen: { idle, idle_served: idleServed ?? idle, errors: 0, ok: true } as LoadRun['loadgen'],
    loadgenStderr: '', rate, serverCpuS: null, serverCpuUsPerMsg: cpu, generatorCores: null, stealPct: null, loadAverage1m: 0, flags, failure: null,
  };
}

function memory(engine: BenchEngine, run: number, bytes: number): MemoryRun {
  return { engine, run, asked: 1000, held: 1000, refused: 0, rssBeforeBytes: 0, rssAfterBytes: bytes * 1000, bytesPerConnection: bytes, failure: null };
}

function results(engines: BenchEngine[], scenarios: string[], loadRuns: LoadRun[], memoryRuns: MemoryRun[] = []): BenchResults {
  return {
    parameters: { engines, loadScenarios: LOAD_SCENARIOS.filter((s) => scenarios.includes(s.id)) },
    loadRuns, memory: memoryRuns, latencyRuns: [], selectCost: [], skipped: [],
  } as unknown as BenchResults;
}

const RUNS = [1, 2, 3, 4, 5];

describe('targets', () => {
  it('judges select, poll and epoll each on its own, per run pair, median with min–max', () => {
    const runs = RUNS.flatMap((r) => [
      load('echo-c100', 'c-ref', r, 100, 5),
      load('echo-c100', 'select', r, 90 + r, 5.5),
      load('echo-c100', 'poll', r, 80, 7),
      load('echo-c100', 'epoll', r, 95, 6),
    ]);
    const found = targets(results(['select', 'poll', 'epoll', 'c-ref'], ['echo-c100'], runs));
    const verdict = (goal: string) => found.find((t) => t.goal === goal);
    expect(verdict('echo-c100: select msgs/s ≥ 0.9× c-ref')).toMatchObject({ met: true, runs: 5, value: { median: 0.93, min: 0.91, max: 0.95, n: 5 }, notes: [] });
    expect(verdict('echo-c100: poll msgs/s ≥ 0.9× c-ref')).toMatchObject({ met: false, value: { median: 0.8 } });
    expect(verdict('echo-c100: epoll msgs/s ≥ 0.9× c-ref')?.met).toBe(true);
    expect(verdict('echo-c100: select server CPU/msg ≤ 1.2× c-ref')).toMatchObject({ met: true, value: { median: 1.1 } });
    expect(verdict('echo-c100: poll server CPU/msg ≤ 1.2× c-ref')).toMatchObject({ met: false, value: { median: 1.4 } });
    // No libuv in the results: its target is not answered, not missed.
    expect(found.some((t) => t.engine === 'libuv')).toBe(false);
  });

  it('judges libuv against net-ref, the hand-tuned net server, on the four Performance scenarios, not against c-ref', () => {
    const scenarios = ['echo-c100', 'echo-d16-c100', 'chat-n100-k10', 'chat-n500-k50'];
    const runs = scenarios.flatMap((scenario, i) =>
      RUNS.flatMap((r) => [load(scenario, 'c-ref', r, 200, 5), load(scenario, 'net-ref', r, 100, 8), load(scenario, 'libuv', r, 70 + 5 * i, 9)]),
    );
    const found = targets(results(['libuv', 'net-ref', 'c-ref'], scenarios, runs)).filter((t) => t.engine === 'libuv');
    expect(found.map((t) => [t.goal, t.value?.median, t.met])).toEqual([
      ['echo-c100: libuv msgs/s ≥ 0.8× net-ref', 0.7, false],
      ['echo-d16-c100: libuv msgs/s ≥ 0.8× net-ref', 0.75, false],
      ['chat-n500-k50: libuv deliveries/s ≥ 0.8× net-ref', 0.85, true],
      ['chat-n100-k10: libuv deliveries/s ≥ 0.8× net-ref', 0.8, true],
    ]);
    // Without net-ref in the results the libuv target is not answered (c-ref alone does not judge it).
    const withoutNetRef = runs.filter((r) => r.engine !== 'net-ref');
    expect(targets(results(['libuv', 'c-ref'], scenarios, withoutNetRef)).some((t) => t.engine === 'libuv')).toBe(false);
  });

  it('says when fewer than 5 runs or generator-bound runs stand behind a verdict', () => {
    const runs = [1, 2, 3].flatMap((r) => [
      load('echo-c100', 'c-ref', r, 100, 5, r < 3 ? ['generator-bound'] : []),
      load('echo-c100', 'select', r, 95, 5),
    ]);
    const [rate] = targets(results(['select', 'c-ref'], ['echo-c100'], runs));
    expect(rate?.notes).toEqual(['only 3 runs (>= 5 wanted)', 'generator-bound: c-ref 2/3']);
  });

  it('memory: bytes per idle connection at most 2 KiB, per engine', () => {
    const found = targets(results(['select', 'epoll', 'libuv'], [], [], [...RUNS.map((r) => memory('select', r, 1900)), ...RUNS.map((r) => memory('epoll', r, 5000 + r))]));
    expect(found.map((t) => [t.goal, t.met, t.value?.median])).toEqual([
      ['memory: select ≤ 2 KiB per idle connection', true, 1900],
      ['memory: epoll ≤ 2 KiB per idle connection', false, 5003],
    ]);
  });

  it('idle-5000: epoll against libuv, and poll served all 5000 only when every run did', () => {
    const runs = RUNS.flatMap((r) => [
      load('idle-5000', 'libuv', r, 30_000, 30),
      load('idle-5000', 'epoll', r, 36_000, 20),
      load('idle-5000', 'poll', r, 10_000, 80, [], r === 4 ? 4000 : 4990),
    ]);
    const found = targets(results(['poll', 'epoll', 'libuv'], ['idle-5000'], runs));
    expect(found.find((t) => t.goal === 'idle-5000: epoll msgs/s ≥ 1.0× libuv')).toMatchObject({ met: true, value: { median: 1.2 } });
    const served = found.find((t) => t.goal === 'idle-5000: poll serves all 5000 connections in every run');
    expect(served).toMatchObject({ met: false, value: { median: 4, n: 5 }, notes: ['idle served 4000/4990 (fewest)'] });
  });

  it('is data: a new spec needs no new code, and the issues\' list names every one of our engines', () => {
    const spec: TargetSpec = { kind: 'ratio', issue: 'test', scenario: 'echo-c100', engines: ['poll'], versus: 'select', metric: 'rate', bound: 2, atLeast: true };
    const runs = RUNS.flatMap((r) => [load('echo-c100', 'select', r, 50, 5), load('echo-c100', 'poll', r, 100, 5)]);
    expect(targets(results(['select', 'poll'], ['echo-c100'], runs), [spec])).toMatchObject([{ goal: 'echo-c100: poll msgs/s ≥ 2.0× select', met: true }]);
    for (const engine of ['select', 'poll', 'epoll']) {
      expect(TARGETS.filter((t) => t.engines.includes(engine as BenchEngine)).length).toBeGreaterThanOrEqual(7);
    }
  });
});
