// Timers on a monotonic clock, kept in a binary min-heap ordered by due time.

/** A scheduled callback; cancel it with TimerHeap.cancel(). */
export interface Timer {
  /** When it is due, in ms on the loop's monotonic clock. */
  due: number;
  /** Repeat period in ms, or 0 for a one-shot timer. */
  readonly interval: number;
  readonly callback: () => void;
  /** Ties on `due` fire in the order the timers were scheduled. */
  readonly seq: number;
  /** False once cancelled or (one-shot) fired; the heap drops it lazily. */
  active: boolean;
}

/** Earlier due time first; on a tie, the timer scheduled first. */
function before(a: Timer, b: Timer): boolean {
  return a.due < b.due || (a.due === b.due && a.seq < b.seq);
}

export class TimerHeap {
  private readonly heap: Timer[] = [];
  private nextSeq = 0;

  /** Schedules callback at `due` (ms), repeating every `interval` ms if interval > 0. */
  schedule(due: number, interval: number, callback: () => void): Timer {
    const timer: Timer = { due, interval, callback, seq: this.nextSeq++, active: true };
    this.push(timer);
    return timer;
  }

  /** Cancels a timer; it never fires again. Removal from the heap happens lazily. */
  cancel(timer: Timer): void {
    timer.active = false;
  }

  /** The due time of the nearest active timer, or Infinity when none is scheduled. */
  nextDue(): number {
    this.dropCancelled();
    return this.heap.length > 0 ? this.heap[0]!.due : Infinity;
  }

  /** Fires every timer due at `now`, in due order; a repeating timer is scheduled again. */
  runDue(now: number): number {
    let fired = 0;
    for (;;) {
      this.dropCancelled();
      const top = this.heap[0];
      if (top === undefined || top.due > now) return fired;
      this.pop();
      if (top.interval > 0) {
        // Next period from the due time, not from now, so a repeating timer does not drift;
        // after a long stall it fires once and skips the periods it missed: the next due is
        // the first period after now (due = now would fire it again in this very call).
        top.due += top.interval * (Math.floor((now - top.due) / top.interval) + 1);
        // (now - due) / interval may round down to one period short when now is on a period.
        if (top.due <= now) top.due += top.interval;
        this.push(top);
      } else {
        top.active = false;
      }
      fired++;
      top.callback();
    }
  }

  /** Pops cancelled timers off the top so heap[0] is the nearest live one. */
  private dropCancelled(): void {
    while (this.heap.length > 0 && !this.heap[0]!.active) this.pop();
  }

  private push(timer: Timer): void {
    const heap = this.heap;
    let i = heap.push(timer) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop()!;
    if (heap.length === 0) return;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < heap.length && before(heap[left]!, heap[smallest]!)) smallest = left;
      if (right < heap.length && before(heap[right]!, heap[smallest]!)) smallest = right;
      if (smallest === i) return;
      [heap[i], heap[smallest]] = [heap[smallest]!, heap[i]!];
      i = smallest;
    }
  }
}
