// SelectLoop: an event loop on select(), in the spirit of Redis' ae.c and libuv's uv_run,
// that lives inside Node's own process without starving it.
import { EXCEPTION, FD_SETSIZE, READABLE, WRITABLE, native } from '../binding/native.js';
import type { TraceSink, YieldReason } from '../trace/events.js';
import { TimerHeap, type Timer } from './timer-heap.js';

/** Called with the events (READABLE | WRITABLE | EXCEPTION) an fd is ready for. */
export type IoCallback = (events: number) => void;

export type { Timer };

/** While Node has a timer of its own pending, select() blocks at most this long (ms). */
const NODE_TIMER_POLL_MS = 10;
/** Under load, yield to Node at least this often (ms) so its timers and promises run. */
const NODE_YIELD_INTERVAL_MS = 10;

interface Watcher {
  interest: number;
  readonly callback: IoCallback;
}

/** Lets Node run one turn of its own loop: signal handlers, timers, promises, its I/O. */
function yieldToNode(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export class SelectLoop {
  private readonly selector = new native.Selector();
  private readonly watchers: (Watcher | undefined)[] = new Array(FD_SETSIZE).fill(undefined);
  /** select()'s answer: (fd, events) pairs, written by the addon, reused every round. */
  private readonly ready = new Int32Array(2 * FD_SETSIZE);
  private readonly timers = new TimerHeap();
  private readonly roundHooks: (() => void)[] = [];
  /** libuv's epoll fd: readable when Node has I/O (signals, stdin, children) to handle. */
  private readonly nodeFd = native.uvBackendFd();
  private running = false;
  /** Was Node's own fd among the ready ones this round? */
  private nodeReady = false;
  private lastYield = 0;
  /** Set by requestRound(): the next select() only polls, so round hooks run soon. */
  private roundRequested = false;
  /** Set by requestYield(): yield to Node after this round, however busy. */
  private yieldRequested = false;

  constructor(private readonly trace: TraceSink | null = null) {}

  /** The loop's monotonic clock, in ms. */
  now(): number {
    return performance.now();
  }

  /** Can select() watch this fd? (FD_SET on an fd >= FD_SETSIZE corrupts memory.) */
  static canWatch(fd: number): boolean {
    return fd >= 0 && fd < FD_SETSIZE;
  }

  /** Registers fd with its callback and initial interest. Throws RangeError ERR_FD_SETSIZE. */
  watch(fd: number, callback: IoCallback, interest: number = READABLE): void {
    if (!SelectLoop.canWatch(fd)) {
      const error = new RangeError(`fd ${fd} is at or above FD_SETSIZE (${FD_SETSIZE}): select() cannot watch it`);
      throw Object.assign(error, { code: 'ERR_FD_SETSIZE' });
    }
    if (this.watchers[fd] !== undefined) throw new Error(`fd ${fd} is already watched`);
    this.watchers[fd] = { interest: 0, callback };
    this.setInterest(fd, interest);
  }

  /** Changes what fd is watched for; safe from inside any callback, for any fd. */
  setInterest(fd: number, interest: number): void {
    const watcher = this.watchers[fd];
    if (watcher === undefined) throw new Error(`fd ${fd} is not watched`);
    const removed = watcher.interest & ~interest;
    const added = interest & ~watcher.interest;
    if (removed !== 0) this.selector.remove(fd, removed);
    if (added !== 0) this.selector.add(fd, added);
    watcher.interest = interest;
  }

  /** The events fd is watched for (0 if not watched). */
  interest(fd: number): number {
    return this.watchers[fd]?.interest ?? 0;
  }

  /** Forgets fd; call it before close(fd), so a reused fd number starts clean. */
  unwatch(fd: number): void {
    const watcher = this.watchers[fd];
    if (watcher === undefined) return;
    if (watcher.interest !== 0) this.selector.remove(fd, watcher.interest);
    this.watchers[fd] = undefined;
  }

  /** Calls callback once after ms milliseconds. */
  setTimeout(ms: number, callback: () => void): Timer {
    return this.timers.schedule(this.now() + ms, 0, callback);
  }

  /** Calls callback every ms milliseconds until cleared. */
  setInterval(ms: number, callback: () => void): Timer {
    return this.timers.schedule(this.now() + ms, ms, callback);
  }

  clearTimer(timer: Timer): void {
    this.timers.cancel(timer);
  }

  /** Runs hook at the end of every round, after I/O and timers: where output is flushed. */
  onRoundEnd(hook: () => void): void {
    this.roundHooks.push(hook);
  }

  /** Asks for a round without blocking: for work queued from outside a round (a Node callback,
   *  a signal handler) that the round hooks must see soon. */
  requestRound(): void {
    this.roundRequested = true;
  }

  /** Asks for a yield to Node after this round: for work handed to Node during a round (a Redis
   *  command its client writes from setImmediate) that must not wait for a quiet round. */
  requestYield(): void {
    this.yieldRequested = true;
  }

  /** Ends run() after the current round. */
  stop(): void {
    this.running = false;
  }

  /** Runs rounds until stop(): select(), dispatch ready fds, timers, round hooks. */
  async run(): Promise<void> {
    this.running = true;
    this.selector.add(this.nodeFd, READABLE);
    this.trace?.event({ kind: 'node-fd', fd: this.nodeFd });
    // Node adds I/O started by top-level code to its epoll set at its next poll phase.
    await yieldToNode();
    await yieldToNode();
    this.lastYield = this.now();
    let busy = false;
    try {
      while (this.running) {
        const timeout = this.roundRequested ? 0 : this.blockingTimeout(busy);
        const started = this.trace ? this.traceBefore(timeout) : 0;
        const count = this.selector.wait(timeout, this.ready);
        if (count < 0) {
          this.trace?.event({ kind: 'eintr' });
          busy = false;
          await this.yieldNow('signal');
          continue;
        }
        if (this.trace) this.traceAfter(count, started);
        busy = this.dispatch(count);
        const fired = this.timers.runDue(this.now());
        if (fired > 0) this.trace?.event({ kind: 'timers', fired });
        for (const hook of this.roundHooks) hook();
        // The hooks just did what was requested during this round.
        this.roundRequested = false;
        // Yield when Node has I/O, when select() timed out (nothing to do anyway), and at least
        // every NODE_YIELD_INTERVAL_MS under load: ~2 µs each, so never once per round.
        const why: YieldReason | null = this.nodeReady || this.yieldRequested ? 'node'
          : count === 0 ? 'timeout'
          : this.now() - this.lastYield >= NODE_YIELD_INTERVAL_MS ? 'interval'
          : null;
        if (why !== null) {
          await this.yieldNow(why);
        } else if (busy) {
          // Cheap: runs the promise callbacks our handlers queued, without a turn of Node's loop.
          await null;
        }
      }
    } finally {
      this.selector.remove(this.nodeFd, READABLE);
    }
  }

  /** Calls the callback of each ready fd; notes whether Node's own fd was ready. Returns true
   *  if any of ours was. */
  private dispatch(count: number): boolean {
    let dispatched = false;
    const ready = this.ready;
    this.nodeReady = false;
    for (let i = 0; i < count; i++) {
      const fd = ready[2 * i]!;
      if (fd === this.nodeFd) {
        this.nodeReady = true;
        continue;
      }
      // Re-check interest, as ae.c does: a callback earlier in this round may have changed it
      // or closed the fd. (If the fd number was reused by a new socket in this round, the new
      // watcher may see one spurious event; every handler treats EAGAIN as "nothing yet".)
      const watcher = this.watchers[fd];
      if (watcher === undefined) continue;
      const events = ready[2 * i + 1]! & (watcher.interest | EXCEPTION);
      if (events === 0) continue;
      dispatched = true;
      watcher.callback(events);
    }
    return dispatched;
  }

  /** How long select() may block: until our next timer; at most NODE_TIMER_POLL_MS while Node
   *  has a timer pending or right after a busy round (work our handlers handed to Node, such as
   *  a process.nextTick, then runs at the next yield); 0 while Node has an immediate queued;
   *  -1 (wait for I/O or a signal, however long) otherwise. */
  private blockingTimeout(afterBusyRound: boolean): number {
    const due = this.timers.nextDue();
    let timeout = due === Infinity ? -1 : Math.max(0, due - this.now());
    const resources = process.getActiveResourcesInfo();
    if (resources.includes('Immediate')) return 0;
    if (afterBusyRound || resources.includes('Timeout')) {
      timeout = timeout < 0 ? NODE_TIMER_POLL_MS : Math.min(timeout, NODE_TIMER_POLL_MS);
    }
    return timeout;
  }

  private async yieldNow(why: YieldReason): Promise<void> {
    this.trace?.event({ kind: 'yield', why });
    this.yieldRequested = false;
    await yieldToNode();
    this.lastYield = this.now();
  }

  /** Trace: the sets passed to select() and the timeout. Returns the time select() starts. */
  private traceBefore(timeout: number): number {
    const read: number[] = [];
    const write: number[] = [];
    const maxFd = this.selector.maxFd;
    for (let fd = 0; fd <= maxFd; fd++) {
      const interest = fd === this.nodeFd ? READABLE : this.interest(fd);
      if (interest & READABLE) read.push(fd);
      if (interest & WRITABLE) write.push(fd);
    }
    this.trace!.event({ kind: 'wait', call: { backend: 'select', nfds: maxFd + 1, read, write, timeoutMs: timeout } });
    return this.now();
  }

  /** Trace: how long select() blocked and the sets it returned. */
  private traceAfter(count: number, started: number): void {
    const read: number[] = [];
    const write: number[] = [];
    for (let i = 0; i < count; i++) {
      const fd = this.ready[2 * i]!;
      const events = this.ready[2 * i + 1]!;
      if (events & READABLE) read.push(fd);
      if (events & WRITABLE) write.push(fd);
    }
    this.trace!.event({ kind: 'woke', result: { backend: 'select', read, write }, count, blockedMs: this.now() - started });
  }
}
