// The comparison's statistics on made-up runs: deterministic, and verdicts only where the runs
// leave no doubt. (A real run compared with itself is in latency.test.ts.)
import { describe, expect, it } from 'vitest';
import { bootstrapRatio, compareValues, seededRandom } from '../../src/bench/compare.js';

const A = [100, 104, 98];

describe('bench --compare statistics', () => {
  it('the seeded generator and so the interval are the same every time', () => {
    const random = seededRandom(7);
    const first = [random(), random(), random()];
    expect(first.every((x) => x >= 0 && x < 1)).toBe(true);
    const again = seededRandom(7);
    expect([again(), again(), again()]).toEqual(first);
    expect(bootstrapRatio(A, [110, 90, 105])).toEqual(bootstrapRatio(A, [110, 90, 105]));
  });

  it('says faster or slower only when every run of B clears every run of A', () => {
    expect(compareValues('s', 'select', 'msgs/s', A, [120, 125, 118]).verdict).toBe('faster');
    expect(compareValues('s', 'select', 'msgs/s', A, [80, 85, 82]).verdict).toBe('slower');
    expect(compareValues('s', 'select', 'msgs/s', A, [103, 125, 118]).verdict).toBe('no significant difference');
  });

  it('with 3 runs a side the interval spans min(B) / max(A) to max(B) / min(A)', () => {
    const { low, high } = bootstrapRatio(A, [110, 90, 105]);
    expect(low).toBeCloseTo(90 / 104, 10);
    expect(high).toBeCloseTo(110 / 98, 10);
  });

  it('runs compared with themselves: ratio 1, no significant difference', () => {
    const c = compareValues('s', 'c-ref', 'msgs/s', A, [...A]);
    expect(c).toMatchObject({ ratio: 1, verdict: 'no significant difference' });
    expect(c.low).toBeLessThanOrEqual(1);
    expect(c.high).toBeGreaterThanOrEqual(1);
  });

  it('one run on a side is not enough; zeros (no point within the bound) still compare', () => {
    expect(compareValues('s', 'select', 'msgs/s', [100], [190, 210])).toMatchObject({ ratio: 2, low: null, verdict: 'not enough runs' });
    expect(compareValues('s', 'select', 'msgs/s', [], [200])).toMatchObject({ ratio: null, verdict: 'not enough runs' });
    expect(compareValues('s', 'select', 'msgs/s', [0, 0, 0], [0, 0, 0])).toMatchObject({ ratio: 1, verdict: 'no significant difference' });
    expect(compareValues('s', 'select', 'msgs/s', [0, 0, 0], [5, 6, 7]).verdict).toBe('faster');
  });
});
