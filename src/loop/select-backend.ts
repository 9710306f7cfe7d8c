// select(): the master fd sets live in C++ (native Selector) and are copied into every call —
// the whole interest, every time, scanned by the kernel up to nfds. Only fds below FD_SETSIZE.
import { FD_SETSIZE, READABLE, WRITABLE, native } from '../binding/native.js';
import type { WaitCall, WaitResult } from '../trace/events.js';
import type { Backend, BackendOptions } from './backend.js';

export class SelectBackend implements Backend {
  readonly name = 'select' as const;
  private readonly selector = new native.Selector();

  constructor(private readonly options: BackendOptions) {}

  canWatch(fd: number): boolean {
    return fd >= 0 && fd < FD_SETSIZE;
  }

  add(fd: number, interest: number): void {
    if (interest !== 0) this.selector.add(fd, interest);
  }

  modify(fd: number, from: number, to: number): void {
    const removed = from & ~to;
    const added = to & ~from;
    if (removed !== 0) this.selector.remove(fd, removed);
    if (added !== 0) this.selector.add(fd, added);
  }

  remove(fd: number, from: number): void {
    if (from !== 0) this.selector.remove(fd, from);
  }

  wait(timeoutMs: number, out: Int32Array): number {
    return this.selector.wait(timeoutMs, out);
  }

  close(): void {}

  describeCall(timeoutMs: number): WaitCall {
    const read: number[] = [];
    const write: number[] = [];
    const maxFd = this.selector.maxFd;
    for (let fd = 0; fd <= maxFd; fd++) {
      const interest = this.options.interestOf(fd);
      if (interest & READABLE) read.push(fd);
      if (interest & WRITABLE) write.push(fd);
    }
    return { backend: 'select', nfds: maxFd + 1, read, write, timeoutMs };
  }

  describeResult(count: number, out: Int32Array): WaitResult {
    const read: number[] = [];
    const write: number[] = [];
    for (let i = 0; i < count; i++) {
      const fd = out[2 * i]!;
      if (out[2 * i + 1]! & READABLE) read.push(fd);
      if (out[2 * i + 1]! & WRITABLE) write.push(fd);
    }
    return { backend: 'select', read, write };
  }
}
