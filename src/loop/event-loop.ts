// EventLoop: an event loop on select(), poll() or epoll, in the spirit of Redis' ae.c and
// libuv's uv_run, that lives inside Node's own process without starving it. Written once; the
// multiplexer is a Backend (backend.ts) chosen at construction.
import { performance } from 'node:perf_hooks';
import { ERROR, EXCEPTION, HANGUP, INVALID, READABLE, WRITABLE, native } from '../binding/native.js';
import type { TraceSink, YieldReason } from '../trace/events.js';
import type { Backend, BackendName } from './backend.js';
import { EpollBackend } from './epoll-backend.js';
import { PollBackend } from './poll-backend.js';
import { SelectBackend } from './select-backend.js';
import { TimerHeap, type Timer } from './timer-heap.js';

/** Called with the events (READABLE | WRITABLE | EXCEPTION) an fd is ready for. */
export type IoCallback = (events: number) => void;

export interface WatchOptions {
  /** When it is readable, the loop makes its first recv() of the round, together with the
   *  other batched ones, in one crossing; the callback takes the result with takeRead(). */
  batched?: boolean;
  /** Takes an exception thrown by the callback: that fd's failure, not the loop's. */
  onError?: (error: unknown) => void;
}

export type { Timer };

/** While Node has a timer of its own pending, the wait blocks at most this long (ms). */
const NODE_TIMER_POLL_MS = 10;
/** Under load, yield to Node at least this often (ms) so its timers and promises run. */
const NODE_YIELD_INTERVAL_MS = 10;
/** Room for this many ready fds at first; it grows with the number watched. */
const INITIAL_READY_FDS = 64;
/** The read the loop did for a batched watcher this round, when it did none. */
export const NOT_READ = -0x7fffffff;
/** Bytes of each batched read: enough for a round's worth of small lines; a stream that fills
 *  its slot reads the rest itself. */
const READ_SLOT_BYTES = 16 * 1024;
/** Most reads done in one crossing; further ready streams read for themselves. */
const MAX_BATCHED_READS = 64;

/** A hang-up or an error is news for whoever watches the fd, reading or writing: it makes the
 *  next recv()/send() return EOF or the error, as libuv hands POLLHUP/POLLERR to both sides. */
const TROUBLE = HANGUP | ERROR | INVALID;

interface Watcher {
  interest: number;
  readonly callback: IoCallback;
  /** Its first read of a round is done by the loop, with the others' (recvMany). */
  readonly batched: boolean;
  /** Where an exception from its callback goes (none: it ends the loop). */
  readonly onError: ((error: unknown) => void) | null;
  /** That read's result this round (NOT_READ: none), and where in readBuffer its bytes are. */
  read: number;
  readAt: number;
}

/** Lets Node run one turn of its own loop: signal handlers, timers, promises, its I/O. */
function yieldToNode(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** The backend of this name. */
function createBackend(name: BackendName, loop: EventLoop, trace: TraceSink | null): Backend {
  const options = { interestOf: (fd: number) => loop.interest(fd), trace };
  switch (name) {
    case 'select':
      return new SelectBackend(options);
    case 'poll':
      return new PollBackend(options);
    case 'epoll':
      return new EpollBackend(options);
  }
}

export class EventLoop {
  readonly backend: Backend;
  /** Watchers by fd (grown as fds grow: poll and epoll take any fd). */
  private watchers: (Watcher | undefined)[] = [];
  private watched = 0;
  /** The wait's answer: (fd, events) pairs, written by the addon, reused every round. */
  private ready = new Int32Array(2 * INITIAL_READY_FDS);
  private readonly timers = new TimerHeap();
  private readonly roundHooks: (() => void)[] = [];
  /** libuv's epoll fd: readable when Node has I/O (signals, stdin, children) to handle. */
  private readonly nodeFd = native.uvBackendFd();
  private running = false;
  /** Was Node's own fd among the ready ones this round? */
  private nodeReady = false;
  private lastYield = 0;
  /** Set by requestRound(): the next wait only polls, so round hooks run soon. */
  private roundRequested = false;
  /** The clock when the last wait returned: what a round's handlers take as "now". */
  private woke = performance.now();
  /** One buffer for a round's batched reads, slot by slot, and the fds and results of the call. */
  readonly readBuffer = Buffer.allocUnsafe(READ_SLOT_BYTES * MAX_BATCHED_READS);
  readonly readSlotBytes = READ_SLOT_BYTES;
  private readonly readFds = new Int32Array(MAX_BATCHED_READS);
  private readonly readResults = new Int32Array(MAX_BATCHED_READS);
  /** Set by requestYield(): yield to Node after this round, however busy. */
  private yieldRequested = false;

  /** backend: the multiplexer's name, or a ready Backend (a test's fake: no kernel involved). */
  constructor(
    backend: BackendName | Backend = 'select',
    private readonly trace: TraceSink | null = null,
  ) {
    this.backend = typeof backend === 'string' ? createBackend(backend, this, trace) : backend;
  }

  /** The loop's monotonic clock, in ms. (perf_hooks' performance: the global one is a lazy
   *  getter, ~10 ns more per read.) */
  now(): number {
    return performance.now();
  }

  /** When the current round's wait returned, in ms on the same clock: precise enough for
   *  limits counted in tenths of seconds, and read once per round instead of per message. */
  get roundTime(): number {
    return this.woke;
  }

  /** Can the backend watch this fd? (FD_SET on an fd >= FD_SETSIZE corrupts memory.) */
  canWatch(fd: number): boolean {
    return this.backend.canWatch(fd);
  }

  /** Registers fd with its callback and initial interest (see WatchOptions). Throws RangeError
   *  ERR_FD_SETSIZE when the backend (select) cannot watch it. */
  watch(fd: number, callback: IoCallback, interest: number = READABLE, options: WatchOptions = {}): void {
    if (!this.canWatch(fd)) {
      const error = new RangeError(`fd ${fd} is at or above FD_SETSIZE: ${this.backend.name}() cannot watch it`);
      throw Object.assign(error, { code: 'ERR_FD_SETSIZE' });
    }
    if (this.watchers[fd] !== undefined) throw new Error(`fd ${fd} is already watched`);
    this.backend.add(fd, interest);
    this.watchers[fd] = { interest, callback, batched: options.batched === true, onError: options.onError ?? null, read: NOT_READ, readAt: 0 };
    if (++this.watched + 1 > this.ready.length / 2) this.ready = new Int32Array(4 * (this.watched + 1));
  }

  /** Changes what fd is watched for; safe from inside any callback, for any fd. */
  setInterest(fd: number, interest: number): void {
    const watcher = this.watchers[fd];
    if (watcher === undefined) throw new Error(`fd ${fd} is not watched`);
    if (interest === watcher.interest) return;
    this.backend.modify(fd, watcher.interest, interest);
    watcher.interest = interest;
  }

  /** The events fd is watched for (0 if not watched). */
  interest(fd: number): number {
    if (fd === this.nodeFd && this.running) return READABLE;
    return this.watchers[fd]?.interest ?? 0;
  }

  /** The result of the recv() the loop did for fd this round (bytes, 0 at EOF, -EAGAIN, or
   *  -errno), or NOT_READ; taking it clears it. Its bytes are at readOffset(fd) in readBuffer. */
  takeRead(fd: number): number {
    const watcher = this.watchers[fd];
    if (watcher === undefined) return NOT_READ;
    const read = watcher.read;
    watcher.read = NOT_READ;
    return read;
  }

  readOffset(fd: number): number {
    return this.watchers[fd]?.readAt ?? 0;
  }

  /** Forgets fd; call it before close(fd), so a reused fd number starts clean. */
  unwatch(fd: number): void {
    const watcher = this.watchers[fd];
    if (watcher === undefined) return;
    this.backend.remove(fd, watcher.interest);
    this.watchers[fd] = undefined;
    this.watched--;
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

  /** Runs rounds until stop(): wait, dispatch ready fds, timers, round hooks. Closes the
   *  backend when it ends. */
  async run(): Promise<void> {
    this.running = true;
    this.trace?.event({ kind: 'node-fd', fd: this.nodeFd });
    this.backend.add(this.nodeFd, READABLE);
    // Node adds I/O started by top-level code to its epoll set at its next poll phase.
    await yieldToNode();
    await yieldToNode();
    this.lastYield = this.now();
    let busy = false;
    try {
      while (this.running) {
        const timeout = this.roundRequested ? 0 : this.blockingTimeout(busy);
        const started = this.trace ? this.traceWait(timeout) : 0;
        const count = this.backend.wait(timeout, this.ready);
        this.woke = this.now();
        if (count < 0) {
          this.trace?.event({ kind: 'eintr' });
          busy = false;
          await this.yieldNow('signal');
          continue;
        }
        if (this.trace) this.trace.event({ kind: 'woke', result: this.backend.describeResult(count, this.ready), count, blockedMs: this.woke - started });
        busy = this.dispatch(count);
        const fired = this.timers.runDue(this.woke);
        if (fired > 0) this.trace?.event({ kind: 'timers', fired });
        // The hooks do now what was requested during this round; what they request themselves
        // (a paused reader that may go on) is for the next round, which then does not block.
        this.roundRequested = false;
        for (const hook of this.roundHooks) hook();
        // Yield when Node has I/O, when the wait timed out (nothing to do anyway), and at least
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
      this.running = false;
      this.backend.remove(this.nodeFd, READABLE);
      this.backend.close();
    }
  }

  /** Calls the callback of each ready fd; notes whether Node's own fd was ready. Returns true
   *  if any of ours was. */
  private dispatch(count: number): boolean {
    let dispatched = false;
    const ready = this.ready;
    this.nodeReady = false;
    this.readBatched(count);
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
      const result = ready[2 * i + 1]!;
      let events = result & (watcher.interest | EXCEPTION);
      if (result & TROUBLE) events |= watcher.interest & (READABLE | WRITABLE);
      // Bytes the batch already read are delivered even if interest changed since.
      if (watcher.read !== NOT_READ) events |= READABLE;
      if (events === 0) continue;
      dispatched = true;
      try {
        watcher.callback(events);
      } catch (error) {
        if (watcher.onError === null) throw error;
        watcher.onError(error);
      }
    }
    return dispatched;
  }

  /** One recv() for every ready, readable, batched watcher (up to MAX_BATCHED_READS), in one
   *  crossing: each finds its result with takeRead() when its callback runs. A watcher closed by
   *  an earlier callback loses bytes nobody would have read anyway. */
  private readBatched(count: number): void {
    const ready = this.ready;
    const fds = this.readFds;
    let n = 0;
    for (let i = 0; i < count && n < MAX_BATCHED_READS; i++) {
      const watcher = this.watchers[ready[2 * i]!];
      if (watcher === undefined || !watcher.batched || !(watcher.interest & READABLE)) continue;
      if (!(ready[2 * i + 1]! & (READABLE | TROUBLE))) continue;
      fds[n++] = ready[2 * i]!;
    }
    // One read is no cheaper in a batch: the stream makes it itself, into its own buffer.
    if (n < 2) return;
    native.recvMany(fds, n, this.readBuffer, READ_SLOT_BYTES, this.readResults);
    for (let k = 0; k < n; k++) {
      const watcher = this.watchers[fds[k]!]!;
      watcher.read = this.readResults[k]!;
      watcher.readAt = k * READ_SLOT_BYTES;
    }
  }

  /** How long the wait may block: until our next timer; at most NODE_TIMER_POLL_MS right after
   *  a busy round (work our handlers handed to Node, such as a process.nextTick, then runs at
   *  the next yield) or while Node has a timer pending; 0 while Node has an immediate queued;
   *  -1 (wait for I/O or a signal, however long) otherwise. Node's resources are asked only
   *  after a quiet round: the call builds an array of strings, and after a busy round the cap
   *  applies anyway (what Node has queued runs at the next yield, at most 10 ms away). */
  private blockingTimeout(afterBusyRound: boolean): number {
    const due = this.timers.nextDue();
    const timeout = due === Infinity ? -1 : Math.max(0, due - this.now());
    if (!afterBusyRound) {
      const resources = process.getActiveResourcesInfo();
      if (resources.includes('Immediate')) return 0;
      if (!resources.includes('Timeout')) return timeout;
    }
    return timeout < 0 ? NODE_TIMER_POLL_MS : Math.min(timeout, NODE_TIMER_POLL_MS);
  }

  private async yieldNow(why: YieldReason): Promise<void> {
    this.trace?.event({ kind: 'yield', why });
    this.yieldRequested = false;
    await yieldToNode();
    this.lastYield = this.now();
  }

  /** Trace: what the kernel is handed, then the time the wait starts. */
  private traceWait(timeout: number): number {
    this.trace!.event({ kind: 'wait', call: this.backend.describeCall(timeout, this.ready.length / 2) });
    return this.now();
  }
}
