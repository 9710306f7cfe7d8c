// Unsent output as one contiguous byte buffer of its own, like a Redis client's reply buffer:
// frames are copied in as they are queued, and one send() writes all of them. The client's
// output, and what a server connection keeps across rounds when the kernel refused some (during
// a round a server connection's output is ranges of the shared RoundLog instead).
import { native } from '../binding/native.js';

/** First capacity of a queue's buffer. */
const INITIAL_BYTES = 4096;
/** A buffer larger than this is released once it empties, so idle connections stay small. */
const KEEP_BYTES = 64 * 1024;
const LF = 0x0a;

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

  /** Bytes the buffer can hold before it must move or grow (0 when released). */
  get capacity(): number {
    return this.data?.length ?? 0;
  }

  /** Appends a copy of frame (the caller may send the same frame to many queues); returns the
   *  bytes now unsent. */
  push(frame: Uint8Array): number {
    const length = frame.length;
    if (length === 0) return this.end - this.start;
    let data = this.data;
    const end = this.end;
    if (data === null || end + length > data.length) data = this.makeRoom(length);
    data.set(frame, this.end);
    this.end += length;
    return this.end - this.start;
  }

  /** Appends a copy of bytes[start, end) and a '\n'; returns the bytes now unsent. */
  pushLine(bytes: Buffer, start: number, end: number): number {
    const length = end - start + 1;
    let data = this.data;
    if (data === null || this.end + length > data.length) data = this.makeRoom(length);
    bytes.copy(data, this.end, start, end);
    data[this.end + length - 1] = LF;
    this.end += length;
    return this.end - this.start;
  }

  /** One send() of everything queued: bytes taken or -EAGAIN; a failure throws. */
  sendTo(fd: number): number {
    return this.data === null || this.empty ? 0 : native.send(fd, this.data, this.start, this.end - this.start);
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
    if (this.start === this.end) this.reset();
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
