// What the loop and the transports report while they work, as data: one object per event.
// `--trace` prints each event as one line (words.ts); `--record` writes them to a Chrome trace
// file; the timeline page shows the same words. This module and words.ts import nothing, so the
// page can inline them as they are.

/** What went into one blocking call, per backend: what the kernel is handed. */
export type WaitCall =
  /** select(): the read and write sets copied in, nfds = highest fd + 1. */
  | { backend: 'select'; nfds: number; read: number[]; write: number[]; timeoutMs: number }
  /** poll(): every watched fd with the events asked for, as [fd, events] pairs. */
  | { backend: 'poll'; fds: [number, number][]; timeoutMs: number }
  /** epoll_wait(): only the epoll fd and the room for answers; the interest list is in the kernel. */
  | { backend: 'epoll'; epfd: number; maxEvents: number; timeoutMs: number };

/** What one blocking call returned, per backend. */
export type WaitResult =
  /** select(): the sets as select() left them. */
  | { backend: 'select'; read: number[]; write: number[] }
  /** poll(): the ready entries as [fd, events asked, revents]. */
  | { backend: 'poll'; ready: [number, number, number][] }
  /** epoll_wait(): the ready events as [fd, events]. */
  | { backend: 'epoll'; ready: [number, number][] };

/** Why the loop handed the thread to Node for a turn. */
export type YieldReason = 'node' | 'timeout' | 'interval' | 'signal';

/** Why a connection was refused at accept. */
export type RefusalReason = 'max-clients' | 'fd-setsize';

export type TraceEvent =
  // Once, when a server starts.
  | { kind: 'node-fd'; fd: number }
  | { kind: 'libuv-loop'; pid: number }
  | { kind: 'listening'; fd: number; address: string; port: number }
  | { kind: 'shutdown'; flushMs: number }
  // The loop: one round is wait → woke → (actions) → round-end.
  | { kind: 'wait'; call: WaitCall }
  | { kind: 'woke'; result: WaitResult; count: number; blockedMs: number }
  | { kind: 'eintr' }
  | { kind: 'ctl'; op: 'ADD' | 'MOD' | 'DEL'; fd: number; events: number }
  | { kind: 'timers'; fired: number }
  | { kind: 'yield'; why: YieldReason }
  | { kind: 'round-end'; connections: number; queuedBytes: number }
  // Accepting.
  | { kind: 'accept'; fd: number; remote: string }
  | { kind: 'refuse'; fd: number; remote: string; why: RefusalReason; limit: number; said: string }
  | { kind: 'accept-error'; code: string; action: 'skipped' | 'paused'; pauseMs: number }
  // Reading: recv() on our loop; a 'data' chunk on libuv's.
  | { kind: 'recv'; fd: number; bytes: number; lines: number; kept: number }
  | { kind: 'recv-eagain'; fd: number }
  | { kind: 'recv-eof'; fd: number; queued: number }
  | { kind: 'data'; fd: number; bytes: number; lines: number; kept: number }
  | { kind: 'data-end'; fd: number; queued: number }
  // Writing: send() on our loop; write() into libuv's queue.
  | { kind: 'send'; fd: number; why: 'round end' | 'writable'; sent: number; queued: number }
  | { kind: 'write-interest'; fd: number; on: boolean }
  | { kind: 'write'; fd: number; why: 'turn end' | 'drain'; bytes: number; frames: number; libuvQueued: number; full: boolean }
  // Limits.
  | { kind: 'paused'; fd: number; waiting: number; highWater: number }
  | { kind: 'resumed'; fd: number; waiting: number }
  | { kind: 'too-slow'; fd: number; unsent: number; rule: 'hard'; limit: number }
  | { kind: 'too-slow'; fd: number; unsent: number; rule: 'soft'; limit: number; seconds: number }
  | { kind: 'stalled'; fd: number; unsent: number; seconds: number }
  // Endings.
  | { kind: 'error'; fd: number; code: string }
  | { kind: 'failure'; fd: number; message: string }
  | { kind: 'closed'; fd: number; reason: string; dropped: number };

/** Receives events as they happen (a sink that needs the time reads performance.now()). */
export interface TraceSink {
  event(event: TraceEvent): void;
}
