// Loopback sockets for the addon's tests, made through the addon, every fd closed exactly once.
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { constants, native, READABLE, WRITABLE } from '../../src/binding/native.js';
import { systemError } from '../../src/binding/sys-error.js';
import { openFdCount } from './fds.js';

/** Longest a test waits for an event loopback delivers in microseconds: a bound, never a sleep. */
export const WAIT_LIMIT_MS = 2_000;

/** Listen backlog: more than any test leaves pending. */
const BACKLOG = 64;

/** The fds a test opened and has not closed yet, so afterEach can close the rest. */
export class OpenFds {
  readonly #open = new Set<number>();

  /** Records an fd just opened and returns it. */
  track(fd: number): number {
    if (this.#open.has(fd)) throw new Error(`fd ${fd} is tracked already`);
    this.#open.add(fd);
    return fd;
  }

  /** Closes a tracked fd; closing one twice, or one never tracked, is an error. */
  close(fd: number): void {
    if (!this.#open.delete(fd)) throw new Error(`fd ${fd} is not open here`);
    native.close(fd);
  }

  /** Closes every fd still open (for afterEach); tries them all before reporting a failure. */
  closeAll(): void {
    const failures: unknown[] = [];
    for (const fd of [...this.#open]) {
      try {
        this.close(fd);
      } catch (error) {
        failures.push(error);
      }
    }
    if (failures.length > 0) throw new AggregateError(failures, 'closing the open fds failed');
  }

  /** How many fds are still open. */
  get size(): number {
    return this.#open.size;
  }
}

/** A listening socket and the address clients reach it at. */
export interface Listener {
  fd: number;
  host: string;
  port: number;
}

/** Both ends of an accepted TCP connection. */
export interface Connection {
  client: number;
  server: number;
}

/** A new non-blocking TCP socket of the family a numeric host belongs to. */
export function tcpSocket(fds: OpenFds, host = '127.0.0.1'): number {
  const family = host.includes(':') ? constants.AF_INET6 : constants.AF_INET;
  return fds.track(native.socket(family, constants.SOCK_STREAM));
}

/** A socket listening on host at a port the kernel picks. */
export function listenOn(fds: OpenFds, host = '127.0.0.1'): Listener {
  const fd = tcpSocket(fds, host);
  native.bind(fd, host, 0);
  native.listen(fd, BACKLOG);
  return { fd, host, port: native.getsockname(fd).port };
}

/** select() on one fd for up to timeoutMs: the events that are ready, or 0 on timeout. */
export function waitFor(fd: number, mask: number, timeoutMs = WAIT_LIMIT_MS): number {
  const selector = new native.Selector();
  selector.add(fd, mask);
  const ready = new Int32Array(2);
  return selector.wait(timeoutMs, ready) === 1 ? ready[1] : 0;
}

/** waitFor()'s shape, for a twin on another multiplexer. */
export type WaitForOne = (fd: number, mask: number, timeoutMs?: number) => number;

/**
 * Connects a new client to listener and accepts it: both ends established and open. The
 * handshake is watched with select() unless given another wait (for fds above FD_SETSIZE).
 */
export function connectPair(
  fds: OpenFds,
  listener: Listener,
  wait: WaitForOne = waitFor,
): Connection {
  const client = tcpSocket(fds, listener.host);
  native.connect(client, listener.host, listener.port);
  if (!(wait(listener.fd, READABLE) & READABLE)) throw new Error('no connection arrived');
  const accepted = native.accept(listener.fd);
  if (accepted === null) throw new Error('the listener was readable but accept() found nothing');
  const server = fds.track(accepted.fd);
  if (!(wait(client, WRITABLE) & WRITABLE)) throw new Error('the connect never finished');
  const error = native.getsockopt(client, constants.SOL_SOCKET, constants.SO_ERROR);
  if (error !== 0) throw systemError(error, 'connect');
  return { client, server };
}

/** Reads length bytes from fd, waiting for each piece; returns fewer only at EOF. */
export function receive(fd: number, length: number, timeoutMs = WAIT_LIMIT_MS): Buffer {
  const buffer = Buffer.alloc(length);
  const deadline = performance.now() + timeoutMs;
  let filled = 0;
  while (filled < length) {
    const n = native.recv(fd, buffer, filled, length - filled);
    if (n === 0) break;
    if (n > 0) {
      filled += n;
      continue;
    }
    const left = deadline - performance.now();
    if (left <= 0 || !waitFor(fd, READABLE, left)) {
      throw new Error(`timed out with ${filled} of ${length} bytes read`);
    }
  }
  return buffer.subarray(0, filled);
}

/** The fds a test file opens: each test's are closed after it, and the file must end with as
 *  many fds open in this process as it started with. */
export function trackFdsOfThisFile(): OpenFds {
  const fds = new OpenFds();
  let fdsAtStart = 0;
  beforeAll(() => {
    fdsAtStart = openFdCount();
  });
  afterEach(() => fds.closeAll());
  afterAll(() => {
    expect(openFdCount()).toBe(fdsAtStart);
  });
  return fds;
}
