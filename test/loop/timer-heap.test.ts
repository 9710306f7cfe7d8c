// The timer heap on a clock the test moves by hand: order, ties, cancel, repeating timers, timers
// scheduled or cancelled from a callback, and a randomized comparison with a sorted-array model.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TimerHeap, type Timer } from '../../src/loop/timer-heap.js';

/** A heap whose callbacks write their names to `fired`, in the order they run. */
function recorder(): { heap: TimerHeap; fired: string[]; at: (due: number, name: string, interval?: number) => Timer } {
  const heap = new TimerHeap();
  const fired: string[] = [];
  const at = (due: number, name: string, interval = 0): Timer => heap.schedule(due, interval, () => fired.push(name));
  return { heap, fired, at };
}

describe('TimerHeap: order', () => {
  it('fires in due order, whatever the order they were scheduled in', () => {
    const { heap, fired, at } = recorder();
    for (const due of [30, 10, 20, 5, 25, 15]) at(due, `t${due}`);
    expect(heap.runDue(100)).toBe(6);
    expect(fired).toEqual(['t5', 't10', 't15', 't20', 't25', 't30']);
  });

  it('fires only timers due by now (due ≤ now) and says how many fired', () => {
    const { heap, fired, at } = recorder();
    at(10, 'a');
    at(20, 'b');
    at(20, 'c');
    expect(heap.runDue(9.999)).toBe(0);
    expect(heap.runDue(10)).toBe(1);
    expect(heap.runDue(19)).toBe(0);
    expect(heap.runDue(20)).toBe(2);
    expect(heap.runDue(1000)).toBe(0);
    expect(fired).toEqual(['a', 'b', 'c']);
  });

  it('fires timers due at the same time in the order they were scheduled', () => {
    const { heap, fired, at } = recorder();
    // Interleaved with other due times, so the tied ones sit in different places in the heap.
    for (let i = 0; i < 8; i++) {
      at(5, `five-${i}`);
      at(3 + 4 * (i % 2), `other-${i}`);
    }
    heap.runDue(5);
    expect(fired).toEqual(['other-0', 'other-2', 'other-4', 'other-6', ...Array.from({ length: 8 }, (_, i) => `five-${i}`)]);
  });

  it('nextDue is the nearest due time, Infinity when nothing is scheduled', () => {
    const { heap, at } = recorder();
    expect(heap.nextDue()).toBe(Infinity);
    at(40, 'a');
    at(12.5, 'b');
    expect(heap.nextDue()).toBe(12.5);
    heap.runDue(20);
    expect(heap.nextDue()).toBe(40);
    heap.runDue(40);
    expect(heap.nextDue()).toBe(Infinity);
  });
});

describe('TimerHeap: cancel', () => {
  it('a cancelled timer never fires, wherever it sits in the heap', () => {
    const { heap, fired, at } = recorder();
    const timers = [50, 10, 40, 20, 30].map((due) => at(due, `t${due}`));
    heap.cancel(timers[2]!);
    heap.cancel(timers[3]!);
    expect(heap.runDue(100)).toBe(3);
    expect(fired).toEqual(['t10', 't30', 't50']);
  });

  it('cancelling the top moves nextDue on to the next live timer', () => {
    const { heap, fired, at } = recorder();
    const first = at(10, 'first');
    const second = at(20, 'second');
    at(30, 'third');
    heap.cancel(first);
    expect(heap.nextDue()).toBe(20);
    heap.cancel(second);
    expect(heap.nextDue()).toBe(30);
    expect(heap.runDue(25)).toBe(0);
    expect(fired).toEqual([]);
  });

  it('nextDue is Infinity when every timer left is cancelled', () => {
    const { heap, at } = recorder();
    const timers = [at(10, 'a'), at(20, 'b', 5), at(30, 'c')];
    for (const timer of timers) heap.cancel(timer);
    expect(heap.nextDue()).toBe(Infinity);
    expect(heap.runDue(1000)).toBe(0);
  });

  it('a one-shot timer is inactive once fired; cancelling it then changes nothing', () => {
    const { heap, fired, at } = recorder();
    const once = at(10, 'once');
    at(20, 'later');
    heap.runDue(10);
    expect(once.active).toBe(false);
    heap.cancel(once);
    heap.runDue(20);
    expect(fired).toEqual(['once', 'later']);
  });
});

describe('TimerHeap: repeating timers', () => {
  it('schedules the next period from the due time, not from when it ran: no drift', () => {
    const { heap, fired, at } = recorder();
    const tick = at(10, 'tick', 10);
    // Each run is 3 ms late; the timer stays on 10, 20, 30, …
    for (const now of [13, 23, 33]) {
      expect(heap.runDue(now)).toBe(1);
      expect(tick.due).toBe(now - 3 + 10);
    }
    expect(heap.runDue(39.9)).toBe(0);
    expect(fired).toEqual(['tick', 'tick', 'tick']);
  });

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

  it('counts every timer that fired, repeating ones included', () => {
    const { heap, at } = recorder();
    at(5, 'a', 5);
    at(7, 'b', 100);
    at(8, 'c');
    expect(heap.runDue(8)).toBe(3);
    expect(heap.runDue(10)).toBe(1);
  });
});

describe('TimerHeap: callbacks that change the heap', () => {
  it('a timer scheduled from a callback fires in the same run if it is already due, else later', () => {
    const heap = new TimerHeap();
    const fired: string[] = [];
    heap.schedule(10, 0, () => {
      fired.push('a');
      heap.schedule(15, 0, () => fired.push('due-now'));
      heap.schedule(25, 0, () => fired.push('later'));
    });
    heap.schedule(18, 0, () => fired.push('b'));
    expect(heap.runDue(20)).toBe(3);
    expect(fired).toEqual(['a', 'due-now', 'b']);
    expect(heap.nextDue()).toBe(25);
  });

  it('a timer cancelled by an earlier callback of the same run does not fire', () => {
    const heap = new TimerHeap();
    const fired: string[] = [];
    let victim: Timer | undefined;
    heap.schedule(10, 0, () => {
      fired.push('killer');
      heap.cancel(victim!);
    });
    victim = heap.schedule(10, 0, () => fired.push('victim'));
    heap.schedule(12, 0, () => fired.push('bystander'));
    expect(heap.runDue(20)).toBe(2);
    expect(fired).toEqual(['killer', 'bystander']);
  });

  it('a repeating timer that cancels itself in its callback never fires again', () => {
    const heap = new TimerHeap();
    let runs = 0;
    const tick: Timer = heap.schedule(10, 10, () => {
      if (++runs === 2) heap.cancel(tick);
    });
    heap.runDue(10);
    heap.runDue(20);
    expect(heap.runDue(1000)).toBe(0);
    expect(runs).toBe(2);
    expect(heap.nextDue()).toBe(Infinity);
  });
});

/** What the property test does to the heap and to the model alike. */
type Command =
  | { kind: 'schedule'; after: number; interval: number }
  | { kind: 'cancel'; pick: number }
  | { kind: 'run'; advance: number };

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('schedule' as const), after: fc.nat(50), interval: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 20 })) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('run' as const), advance: fc.nat(60) }) },
);

/** The obvious implementation: an array kept sorted by (due, scheduling order). */
class SortedModel {
  private entries: { id: number; due: number; interval: number; seq: number }[] = [];

  schedule(id: number, due: number, interval: number): void {
    this.insert({ id, due, interval, seq: id });
  }

  cancel(id: number): void {
    this.entries = this.entries.filter((entry) => entry.id !== id);
  }

  runDue(now: number, fired: number[]): void {
    while (this.entries.length > 0 && this.entries[0]!.due <= now) {
      const entry = this.entries.shift()!;
      fired.push(entry.id);
      if (entry.interval > 0) {
        // The next period after now on the timer's own grid.
        let due = entry.due + entry.interval;
        while (due <= now) due += entry.interval;
        this.insert({ ...entry, due });
      }
    }
  }

  nextDue(): number {
    return this.entries[0]?.due ?? Infinity;
  }

  private insert(entry: { id: number; due: number; interval: number; seq: number }): void {
    const at = this.entries.findIndex((e) => e.due > entry.due || (e.due === entry.due && e.seq > entry.seq));
    this.entries.splice(at < 0 ? this.entries.length : at, 0, entry);
  }
}

describe('TimerHeap: against a sorted array', () => {
  it('fires the same timers in the same order, and agrees on nextDue, for any sequence of operations', () => {
    fc.assert(
      fc.property(fc.array(command, { maxLength: 80 }), (commands) => {
        const heap = new TimerHeap();
        const model = new SortedModel();
        const timers: Timer[] = [];
        const heapFired: number[] = [];
        const modelFired: number[] = [];
        let now = 0;
        for (const c of commands) {
          if (c.kind === 'schedule') {
            const id = timers.length;
            timers.push(heap.schedule(now + c.after, c.interval, () => heapFired.push(id)));
            model.schedule(id, now + c.after, c.interval);
          } else if (c.kind === 'cancel') {
            if (timers.length === 0) continue;
            const id = c.pick % timers.length;
            heap.cancel(timers[id]!);
            model.cancel(id);
          } else {
            now += c.advance;
            const before = heapFired.length;
            const count = heap.runDue(now);
            model.runDue(now, modelFired);
            expect(count).toBe(heapFired.length - before);
          }
          expect(heapFired).toEqual(modelFired);
          expect(heap.nextDue()).toBe(model.nextDue());
        }
      }),
      { numRuns: 300 },
    );
  });
});
