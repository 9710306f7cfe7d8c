// The typed face of the native addon: everything above this layer imports the addon from here.
import { createRequire } from 'node:module';

/** A socket address as Node's net module reports it. */
export interface SocketAddress {
  address: string;
  port: number;
  family: 'IPv4' | 'IPv6';
}

/** What accept() returns for a new connection. */
export interface Accepted extends SocketAddress {
  fd: number;
}

/** Master fd sets kept in C++ (Redis' ae_select.c style); wait() runs select() on copies. */
export interface Selector {
  /** Watch fd for the events in mask (READABLE | WRITABLE | EXCEPTION). Throws ERR_FD_SETSIZE. */
  add(fd: number, mask: number): void;
  /** Stop watching fd for the events in mask. */
  remove(fd: number, mask: number): void;
  /**
   * select() with timeoutMs (-1 waits forever, 0 polls). Writes (fd, mask) pairs into out and
   * returns how many fds are ready, or -EINTR when a signal interrupted the wait.
   */
  wait(timeoutMs: number, out: Int32Array): number;
  /** The highest watched fd, or -1: select() is called with nfds = maxFd + 1. */
  readonly maxFd: number;
}

/**
 * A pollfd array kept in C++ between calls (fd → slot index for O(1) edits); wait() runs one
 * poll() on it as it is. No FD_SETSIZE limit.
 */
export interface Poller {
  /**
   * Watch fd for the events in mask (READABLE | WRITABLE | EXCEPTION) instead of what it was
   * watched for; mask 0 takes it out (the last entry moves into its slot).
   */
  set(fd: number, mask: number): void;
  /**
   * poll() with timeoutMs (-1 waits forever, 0 polls, fractions round up to whole ms). Writes
   * (fd, mask) pairs into out, in array order and no more than it holds, and returns how many
   * fds are ready, or -EINTR when a signal interrupted the wait. Besides the interest, a mask
   * may carry HANGUP and ERROR, and INVALID for an fd that is not open (a bug, never thrown).
   */
  wait(timeoutMs: number, out: Int32Array): number;
  /**
   * For the trace: writes (fd, interest, result) triples in array order, the result being what
   * the last wait() got back for the entry (0 if set() since). Returns how many it wrote: fewer
   * than size when out holds fewer triples.
   */
  entries(out: Int32Array): number;
  /** How many fds the array holds: the nfds of the next poll(). */
  readonly size: number;
}

/**
 * One epoll instance (epoll_create1 with EPOLL_CLOEXEC): the interest list lives in the kernel,
 * edited by ctl(); wait() gets back only the ready fds. Level-triggered. Call close() when done
 * (an Epoller dropped without it closes its fd when garbage-collected).
 */
export interface Epoller {
  /**
   * One epoll_ctl(): op is EPOLL_CTL_ADD, EPOLL_CTL_MOD or EPOLL_CTL_DEL, mask the interest
   * (READABLE | WRITABLE | EXCEPTION; HANGUP and ERROR are reported even for mask 0). The
   * kernel's refusals (EEXIST, ENOENT, EBADF, EPERM for a regular file) throw as system errors;
   * a call after close() throws ERR_EPOLL_CLOSED.
   */
  ctl(op: number, fd: number, mask: number): void;
  /**
   * epoll_wait() with timeoutMs (-1 waits forever, 0 polls, fractions round up to whole ms).
   * Writes (fd, mask) pairs into out, no more than it holds, and returns how many fds are
   * ready, or -EINTR when a signal interrupted the wait. Masks may carry HANGUP and ERROR.
   */
  wait(timeoutMs: number, out: Int32Array): number;
  /** Closes the epoll fd; later calls do nothing. */
  close(): void;
  /** The epoll instance's fd, or -1 once closed. */
  readonly fd: number;
}

/** The numeric constants of the C headers that the TypeScript layers need. */
export interface Constants {
  AF_INET: number;
  AF_INET6: number;
  SOCK_STREAM: number;
  SHUT_WR: number;
  SOL_SOCKET: number;
  SO_REUSEADDR: number;
  /** Linux ≥ 3.9: several sockets bind one port and the kernel spreads connections among them. */
  SO_REUSEPORT: number;
  SO_LINGER: number;
  SO_RCVBUF: number;
  SO_SNDBUF: number;
  SO_ERROR: number;
  IPPROTO_TCP: number;
  TCP_NODELAY: number;
  EAGAIN: number;
  EINTR: number;
  EINPROGRESS: number;
}

/** The addon's exports: one function per system call, all sockets non-blocking. */
export interface Native {
  constants: Constants;
  FD_SETSIZE: number;
  READABLE: number;
  WRITABLE: number;
  EXCEPTION: number;
  /** Result only: hung up; for TCP, shut both ways or reset (POLLHUP, EPOLLHUP). */
  HANGUP: number;
  /** Result only: a socket error is pending, recv() or SO_ERROR reports it (POLLERR, EPOLLERR). */
  ERROR: number;
  /** Result only, poll() only: the fd is not open (POLLNVAL). */
  INVALID: number;
  Selector: new () => Selector;
  Poller: new () => Poller;
  Epoller: new () => Epoller;
  /** The ops of Epoller.ctl(). */
  EPOLL_CTL_ADD: number;
  EPOLL_CTL_MOD: number;
  EPOLL_CTL_DEL: number;

  /** A new non-blocking, close-on-exec socket. */
  socket(family: number, type: number): number;
  /** Binds to a numeric IPv4/IPv6 address; IPv6 sockets are made v6-only first. */
  bind(fd: number, address: string, port: number): void;
  listen(fd: number, backlog: number): void;
  /** The next pending connection, or null when none is waiting. */
  accept(fd: number): Accepted | null;
  /** 0 when connected at once, -EINPROGRESS while the handshake runs. */
  connect(fd: number, address: string, port: number): number;
  /** Bytes read into buffer[offset..offset+length), 0 at EOF, or -EAGAIN. */
  recv(fd: number, buffer: Uint8Array, offset: number, length: number): number;
  /** Bytes written (maybe fewer than asked), or -EAGAIN. Never raises SIGPIPE. */
  send(fd: number, buffer: Uint8Array, offset: number, length: number): number;
  /** One recv() per fd in one crossing: fds[i] (i < count) reads into buffer[i * slotBytes, +
   *  slotBytes); results[i] = bytes read, 0 at EOF, -EAGAIN, or -errno for a failure. */
  recvMany(fds: Int32Array, count: number, buffer: Buffer, slotBytes: number, results: Int32Array): void;
  /** One gathering send (sendmsg) per fd in one crossing: fds[i] sends the ranges starts[i] ..
   *  starts[i+1]-1 of buffer, range r being buffer[offsets[r], + lengths[r]) (at most IOV_MAX:
   *  the rest is a partial send); results[i] = bytes taken, -EAGAIN, or -errno for a failure.
   *  Never raises SIGPIPE. */
  sendRanges(fds: Int32Array, count: number, buffer: Buffer, starts: Int32Array, offsets: Int32Array, lengths: Int32Array, results: Int32Array): void;
  shutdown(fd: number, how: number): void;
  /** Closes fd; never retried on EINTR (Linux has released the fd already). */
  close(fd: number): void;
  /** Integer options; for SO_LINGER the value is seconds (0 = abortive close), negative = off. */
  setsockopt(fd: number, level: number, name: number, value: number): void;
  getsockopt(fd: number, level: number, name: number): number;
  /** Bytes in fd's send queue, unsent or unacknowledged (ioctl SIOCOUTQ): a peer that reads
   *  makes it go down. */
  outq(fd: number): number;
  getsockname(fd: number): SocketAddress;
  getpeername(fd: number): SocketAddress;

  /** libuv's epoll fd: readable whenever Node has I/O to handle. */
  uvBackendFd(): number;
}

/** A system call's failure as Node reports it (code 'ECONNRESET', errno -104, syscall 'recv'). */
export interface SystemError extends Error {
  code: string;
  errno: number;
  syscall: string;
}

// src/binding and dist/binding are both two levels below the package root.
const require = createRequire(import.meta.url);
export const native: Native = require('../../build/Release/selectchat.node') as Native;

export const {
  constants,
  FD_SETSIZE,
  READABLE,
  WRITABLE,
  EXCEPTION,
  HANGUP,
  ERROR,
  INVALID,
  EPOLL_CTL_ADD,
  EPOLL_CTL_MOD,
  EPOLL_CTL_DEL,
} = native;

/** True for errors thrown by a failed system call in the addon (or in Node). */
export function isSystemError(error: unknown): error is SystemError {
  return (
    error instanceof Error &&
    typeof (error as SystemError).code === 'string' &&
    typeof (error as SystemError).syscall === 'string'
  );
}
