// poll(): a pollfd array kept in C++ between calls (native Poller) and handed whole to every
// call — like select(), the kernel walks every entry each time, but with no FD_SETSIZE limit
// and no bitmaps to scan past the highest fd.
import { native } from '../binding/native.js';
import type { WaitCall, WaitResult } from '../trace/events.js';
import type { Backend, BackendOptions } from './backend.js';

export class PollBackend implements Backend {
  readonly name = 'poll' as const;
  private readonly poller = new native.Poller();
  /** (fd, events, revents) triples for the trace, grown as the array grows. */
  private entries = new Int32Array(3 * 64);

  constructor(_options: BackendOptions) {}

  canWatch(fd: number): boolean {
    return fd >= 0;
  }

  // An entry with no interest is taken out of the array: poll() would still report POLLHUP
  // and POLLERR for it, round after round, for an fd nobody wants to hear from now.
  add(fd: number, interest: number): void {
    if (interest !== 0) this.poller.set(fd, interest);
  }

  modify(fd: number, _from: number, to: number): void {
    this.poller.set(fd, to);
  }

  remove(fd: number, from: number): void {
    if (from !== 0) this.poller.set(fd, 0);
  }

  wait(timeoutMs: number, out: Int32Array): number {
    return this.poller.wait(timeoutMs, out);
  }

  close(): void {}

  describeCall(timeoutMs: number): WaitCall {
    const fds: [number, number][] = [];
    const n = this.readEntries();
    for (let i = 0; i < n; i++) fds.push([this.entries[3 * i]!, this.entries[3 * i + 1]!]);
    return { backend: 'poll', fds, timeoutMs };
  }

  describeResult(): WaitResult {
    const ready: [number, number, number][] = [];
    const n = this.readEntries();
    for (let i = 0; i < n; i++) {
      if (this.entries[3 * i + 2] !== 0) ready.push([this.entries[3 * i]!, this.entries[3 * i + 1]!, this.entries[3 * i + 2]!]);
    }
    return { backend: 'poll', ready };
  }

  /** Every entry with what it asked for and what the last poll() said (trace only). */
  private readEntries(): number {
    if (this.entries.length < 3 * this.poller.size) this.entries = new Int32Array(6 * this.poller.size);
    return this.poller.entries(this.entries);
  }
}
