// The timer heap on a clock the test moves by hand.
import { describe, expect, it } from 'vitest';
import { TimerHeap, type Timer } from '../../src/loop/timer-heap.js';

/** A heap whose callbacks write their names to `fired`, in the order they run. */
function recorder(): { heap: TimerHeap; fired: string[]; at: (due: number, name: string, interval?: number) => Timer } {
  const heap = new TimerHeap();
  const fired: string[] = [];
  const at = (due: number, name: string, interval = 0): Timer => heap.schedule(due, interval, () => fired.push(name));
  return { heap, fired, at };
}

describe('TimerHeap: repeating timers', () => {
  it('after a long stall fires once and skips the periods it missed', () => {
    const { heap, fired, at } = recorder();
    const tick = at(10, 'tick', 10);
    expect(heap.runDue(1005)).toBe(1);
    expect(fired).toEqual(['tick']);
    // Back on its grid, at the first period after now.
    expect(tick.due).toBe(1010);
    expect(heap.runDue(1009)).toBe(0);
    expect(heap.runDue(1010)).toBe(1);
  });

  it('a stall that ends exactly on a period still fires once', () => {
    const { heap, at } = recorder();
    const tick = at(10, 'tick', 10);
    expect(heap.runDue(40)).toBe(1);
    expect(tick.due).toBe(50);
  });

  it('…also where floating point puts now a hair short of a whole number of periods', () => {
    // (now - due) / interval comes out just under 50 here, though now is due + 50 periods.
    const due = 701.1118417697367;
    const interval = 13.798802967234545;
    const now = due + 50 * interval;
    const { heap, at } = recorder();
    const tick = at(due, 'tick', interval);
    expect(heap.runDue(now)).toBe(1);
    expect(tick.due).toBeGreaterThan(now);
    expect(tick.due).toBeLessThanOrEqual(now + interval);
  });
});
