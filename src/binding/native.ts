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

/** The numeric constants of the C headers that the TypeScript layers need. */
export interface Constants {
  AF_INET: number;
  AF_INET6: number;
  SOCK_STREAM: number;
  SHUT_RD: number;
  SHUT_WR: number;
  SHUT_RDWR: number;
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
  Selector: new () => Selector;

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
  /** One gather-write of buffers[index] from offset on, then the rest (≤ 256). Bytes, or -EAGAIN. */
  sendmsg(fd: number, buffers: readonly Uint8Array[], index: number, offset: number): number;
  shutdown(fd: number, how: number): void;
  /** Closes fd; never retried on EINTR (Linux has released the fd already). */
  close(fd: number): void;
  /** Integer options; for SO_LINGER the value is seconds (0 = abortive close), negative = off. */
  setsockopt(fd: number, level: number, name: number, value: number): void;
  getsockopt(fd: number, level: number, name: number): number;
  getsockname(fd: number): SocketAddress;
  getpeername(fd: number): SocketAddress;

  /** libuv's epoll fd: readable whenever Node has I/O to handle. */
  uvBackendFd(): number;
  /** ms until libuv's next timer by its cached clock; -1 none, 0 work pending. A hint only. */
  uvBackendTimeout(): number;
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

export const { constants, FD_SETSIZE, READABLE, WRITABLE, EXCEPTION } = native;

/** True for errors thrown by a failed system call in the addon (or in Node). */
export function isSystemError(error: unknown): error is SystemError {
  return (
    error instanceof Error &&
    typeof (error as SystemError).code === 'string' &&
    typeof (error as SystemError).syscall === 'string'
  );
}
