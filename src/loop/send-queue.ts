// A connection's unsent output as one contiguous byte buffer, like a Redis client's reply
// buffer: frames are copied in as they are queued, and one send() writes all of them. Measured
// on chat fan-out: gathering ~100 small frames per sendmsg() spent more in N-API (one call per
// buffer) than copying them costs, and left the select engine behind libuv's joined writes.
// Pure: the stream that owns it makes the system call and reports how much the kernel took.
import { OwnerRuns, type OutputOwner } from './owner-runs.js';

/** First capacity of a queue's buffer. */
const INITIAL_BYTES = 4096;
/** A buffer larger than this is released once it empties, so idle connections stay small. */
const KEEP_BYTES = 64 * 1024;
const LF = 0x0a;

/** Bytes waiting to be written: data[start, end), with whose they are. */
export class SendQueue {
  private data: Buffer | null = null;
  private start = 0;
  private end = 0;
  private readonly runs: OwnerRuns;

  /** self: the connection this queue writes to (its own replies are not foreign). */
  constructor(self: OutputOwner | null = null) {
    this.runs = new OwnerRuns(self);
  }

  /** Unsent bytes. */
  get bytes(): number {
    return this.end - this.start;
  }

  get empty(): boolean {
    return this.end === this.start;
  }

  /** Unsent bytes that other connections' lines (or the server) produced. */
  get foreignBytes(): number {
    return this.runs.foreign;
  }

  /** Bytes the buffer can hold before it must move or grow (0 when released). */
  get capacity(): number {
    return this.data?.length ?? 0;
  }

  /** Appends a copy of frame (the caller may send the same frame to many queues), charged to
   *  owner: the connection whose line produced it (null: the server itself). */
  push(frame: Uint8Array, owner: OutputOwner | null = null): void {
    if (frame.length === 0) return;
    let data = this.data;
    if (data === null || this.end + frame.length > data.length) data = this.makeRoom(frame.length);
    data.set(frame, this.end);
    this.end += frame.length;
    this.runs.add(owner, frame.length);
  }

  /** Appends a copy of bytes[start, end) and a '\n', charged to owner. */
  pushLine(bytes: Buffer, start: number, end: number, owner: OutputOwner | null = null): void {
    const length = end - start + 1;
    let data = this.data;
    if (data === null || this.end + length > data.length) data = this.makeRoom(length);
    bytes.copy(data, this.end, start, end);
    data[this.end + length - 1] = LF;
    this.end += length;
    this.runs.add(owner, length);
  }

  /** The buffer holding the unsent bytes, at offset, for one send(); null when empty. */
  get buffer(): Buffer | null {
    return this.empty ? null : this.data;
  }

  get offset(): number {
    return this.start;
  }

  /** The kernel took n bytes from the front. */
  consume(n: number): void {
    this.start += n;
    this.runs.consume(n);
    if (this.start === this.end) this.reset();
  }

  /** Drops everything (the connection is gone). */
  clear(): void {
    this.runs.clear();
    this.data = null;
    this.start = this.end = 0;
  }

  private reset(): void {
    this.start = this.end = 0;
    if (this.data !== null && this.data.length > KEEP_BYTES) this.data = null;
  }

  /**
   * Makes room for `extra` more bytes. In place (copyWithin the unsent bytes to the front) when
   * that leaves the buffer at least half free, else into a buffer of at least twice the size:
   * either way what follows has room for as many bytes as were moved, so every byte is moved
   * O(1) times overall — a queue hovering near its cap costs O(bytes pushed), not one new
   * buffer per frame.
   */
  private makeRoom(extra: number): Buffer {
    const used = this.end - this.start;
    const needed = used + extra;
    const old = this.data;
    if (old !== null && 2 * needed <= old.length) {
      old.copyWithin(0, this.start, this.end);
    } else {
      let capacity = old === null ? INITIAL_BYTES : 2 * old.length;
      while (capacity < 2 * needed) capacity *= 2;
      const grown = Buffer.allocUnsafe(capacity);
      if (old !== null) old.copy(grown, 0, this.start, this.end);
      this.data = grown;
    }
    this.start = 0;
    this.end = used;
    return this.data!;
  }
}
