// Filling and draining socket buffers: what takes a socket out of the write set and back in.
import { constants, native, READABLE, WRITABLE } from '../../src/binding/native.js';
import { connectPair, listenOn, WAIT_LIMIT_MS, type Connection, type OpenFds } from './sockets.js';

/** SO_SNDBUF / SO_RCVBUF asked for (the kernel doubles it): small, so a few sends fill them. */
export const SMALL_BUFFER_BYTES = 4096;
/** Bytes offered per send() while filling buffers: far more than the small buffers hold. */
export const CHUNK_BYTES = 64 * 1024;
/** Most sends a fill may take before the test gives up on ever seeing -EAGAIN. */
const MAX_SENDS = 1000;

/** What Selector, Poller and Epoller share: wait() writes (fd, mask) pairs and counts them. */
export interface Waiter {
  wait(timeoutMs: number, out: Int32Array): number;
}

/** A connection with a small send buffer at the client and a small receive buffer at the server. */
export function smallBufferConnection(fds: OpenFds): Connection {
  const listener = listenOn(fds);
  // Accepted sockets inherit the listener's receive buffer, and the window is set at the handshake.
  native.setsockopt(listener.fd, constants.SOL_SOCKET, constants.SO_RCVBUF, SMALL_BUFFER_BYTES);
  const connection = connectPair(fds, listener);
  const { client } = connection;
  native.setsockopt(client, constants.SOL_SOCKET, constants.SO_SNDBUF, SMALL_BUFFER_BYTES);
  return connection;
}

/** Sends until send() stops returning a byte count; returns every result in order. */
export function sendUntilFull(fd: number): number[] {
  const chunk = Buffer.alloc(CHUNK_BYTES, 'x');
  const results: number[] = [];
  for (let sends = 0; sends < MAX_SENDS; sends++) {
    const result = native.send(fd, chunk, 0, chunk.length);
    results.push(result);
    if (result <= 0) break;
  }
  return results;
}

/** Reads whatever fd has buffered, until recv() says -EAGAIN. */
export function drain(fd: number): void {
  const sink = Buffer.alloc(CHUNK_BYTES);
  while (native.recv(fd, sink, 0, sink.length) > 0);
}

/**
 * Loop rounds on a waiter already watching server for reading and client for writing: drains
 * server whenever it is readable, until client is reported writable. False if that takes longer
 * than WAIT_LIMIT_MS.
 */
export function drainUntilWritable(waiter: Waiter, client: number, server: number): boolean {
  const ready = new Int32Array(4);
  const deadline = performance.now() + WAIT_LIMIT_MS;
  while (performance.now() < deadline) {
    const count = waiter.wait(Math.max(0, deadline - performance.now()), ready);
    let clientWritable = false;
    for (let i = 0; i < count; i++) {
      const fd = ready[2 * i];
      const mask = ready[2 * i + 1];
      if (fd === server && mask & READABLE) drain(server);
      if (fd === client && mask & WRITABLE) clientWritable = true;
    }
    if (clientWritable) return true;
  }
  return false;
}
