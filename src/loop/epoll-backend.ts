// epoll: the interest list lives in the kernel (native Epoller), edited by one epoll_ctl() per
// change; each epoll_wait() hands over nothing but room for answers and gets back only the
// ready fds. Level-triggered, as select() and poll() are, so the loop above is the same.
import { EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD, native } from '../binding/native.js';
import type { WaitCall, WaitResult } from '../trace/events.js';
import type { Backend, BackendOptions } from './backend.js';

export class EpollBackend implements Backend {
  readonly name = 'epoll' as const;
  private readonly epoller = new native.Epoller();

  constructor(private readonly options: BackendOptions) {}

  canWatch(fd: number): boolean {
    return fd >= 0;
  }

  // An fd with no interest is taken out of the kernel's list (as libuv does): epoll reports
  // EPOLLHUP and EPOLLERR whatever the mask, and level-triggered it would report them forever.
  add(fd: number, interest: number): void {
    if (interest !== 0) this.ctl('ADD', fd, interest);
  }

  modify(fd: number, from: number, to: number): void {
    if (from === 0) this.ctl('ADD', fd, to);
    else if (to === 0) this.ctl('DEL', fd, 0);
    else this.ctl('MOD', fd, to);
  }

  remove(fd: number, from: number): void {
    if (from !== 0) this.ctl('DEL', fd, 0);
  }

  wait(timeoutMs: number, out: Int32Array): number {
    return this.epoller.wait(timeoutMs, out);
  }

  close(): void {
    this.epoller.close();
  }

  describeCall(timeoutMs: number, maxEvents: number): WaitCall {
    return { backend: 'epoll', epfd: this.epoller.fd, maxEvents, timeoutMs };
  }

  describeResult(count: number, out: Int32Array): WaitResult {
    const ready: [number, number][] = [];
    for (let i = 0; i < count; i++) ready.push([out[2 * i]!, out[2 * i + 1]!]);
    return { backend: 'epoll', ready };
  }

  private ctl(op: 'ADD' | 'MOD' | 'DEL', fd: number, events: number): void {
    this.options.trace?.event({ kind: 'ctl', op, fd, events });
    this.epoller.ctl(op === 'ADD' ? EPOLL_CTL_ADD : op === 'MOD' ? EPOLL_CTL_MOD : EPOLL_CTL_DEL, fd, events);
  }
}
