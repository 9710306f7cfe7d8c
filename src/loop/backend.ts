// The multiplexer behind the loop, in the spirit of Redis' ae.c and its ae_select.c/ae_epoll.c:
// one small interface, one thin adapter per system call. A backend knows fds and interest bits,
// never connections; the loop above it (event-loop.ts) is written once.
import type { TraceSink, WaitCall, WaitResult } from '../trace/events.js';

/** The multiplexers the loop runs on. */
export const BACKENDS = ['select', 'poll', 'epoll'] as const;
export type BackendName = (typeof BACKENDS)[number];

export interface Backend {
  readonly name: BackendName;
  /** Can it watch this fd at all? (select(): only below FD_SETSIZE.) */
  canWatch(fd: number): boolean;
  /** Starts watching fd for interest (READABLE | WRITABLE | EXCEPTION, maybe 0). */
  add(fd: number, interest: number): void;
  /** fd's interest changes from `from` to `to`; either may be 0 (not in the kernel's list). */
  modify(fd: number, from: number, to: number): void;
  /** Stops watching fd, whose interest was `from`; call it before close(fd). */
  remove(fd: number, from: number): void;
  /** Blocks up to timeoutMs (-1: as long as it takes, 0: not at all); writes (fd, events)
   *  pairs into out (at most out.length / 2) and returns how many, or -EINTR. */
  wait(timeoutMs: number, out: Int32Array): number;
  /** Releases what the backend holds in the kernel (epoll's fd). */
  close(): void;
  /** For the trace: what the next wait() hands the kernel, and what the last one returned. */
  describeCall(timeoutMs: number, maxEvents: number): WaitCall;
  describeResult(count: number, out: Int32Array): WaitResult;
}

/** Interest as the loop keeps it, for backends whose trace needs it (select's sets). */
export type InterestOf = (fd: number) => number;

/** What every backend's constructor takes. */
export interface BackendOptions {
  interestOf: InterestOf;
  trace: TraceSink | null;
}
