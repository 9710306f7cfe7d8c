// A connection's unsent output as one contiguous byte buffer, like a Redis client's reply
// buffer: frames are copied in as they are queued, and one send() writes all of them. Measured
// on chat fan-out: gathering ~100 small frames per sendmsg() spent more in N-API (one call per
// buffer) than copying them costs, and left the select engine behind libuv's joined writes.
import { native } from '../binding/native.js';

/** First capacity of a queue's buffer; it doubles from there as needed. */
const INITIAL_BYTES = 4096;
/** A buffer larger than this is released once it empties, so idle connections stay small. */
const KEEP_BYTES = 64 * 1024;

/** Bytes waiting to be written: data[start, end). */
export class SendQueue {
  private data: Buffer | null = null;
  private start = 0;
  private end = 0;

  /** Unsent bytes. */
  get bytes(): number {
    return this.end - this.start;
  }

  get empty(): boolean {
    return this.end === this.start;
  }

  /** Appends a copy of frame (the caller may send the same frame to many queues). */
  push(frame: Uint8Array): void {
    if (frame.length === 0) return;
    let data = this.data;
    if (data === null || this.end + frame.length > data.length) data = this.makeRoom(frame.length);
    data.set(frame, this.end);
    this.end += frame.length;
  }

  /** One send() of everything queued: returns the bytes the kernel took (0 when its buffer is
   *  full). A failed send throws the system error (ECONNRESET, EPIPE, ...). */
  sendTo(fd: number): number {
    if (this.data === null || this.empty) return 0;
    const n = native.send(fd, this.data, this.start, this.end - this.start);
    if (n <= 0) return 0;
    this.start += n;
    if (this.start === this.end) this.reset();
    return n;
  }

  /** Drops everything (the connection is gone). */
  clear(): void {
    this.data = null;
    this.start = this.end = 0;
  }

  private reset(): void {
    this.start = this.end = 0;
    if (this.data !== null && this.data.length > KEEP_BYTES) this.data = null;
  }

  /** Makes room for `extra` more bytes: slides the unsent bytes to the front when the sent part
   *  before them is at least as large (so each byte is moved O(1) times overall), else grows. */
  private makeRoom(extra: number): Buffer {
    const used = this.end - this.start;
    const old = this.data;
    if (old !== null && used + extra <= old.length && this.start >= used) {
      old.copyWithin(0, this.start, this.end);
    } else {
      let capacity = old?.length ?? INITIAL_BYTES;
      while (capacity < used + extra) capacity *= 2;
      const grown = Buffer.allocUnsafe(capacity);
      if (old !== null) old.copy(grown, 0, this.start, this.end);
      this.data = grown;
    }
    this.start = 0;
    this.end = used;
    return this.data!;
  }
}
