// A connection's unsent output: frames queued whole, sent with an offset into the first one,
// the way libuv's write queue works.

/** Frames waiting to be written; chunks[head] is partly sent up to `offset`. */
export class SendQueue {
  readonly chunks: Buffer[] = [];
  head = 0;
  offset = 0;
  /** Unsent bytes. */
  bytes = 0;

  get empty(): boolean {
    return this.bytes === 0;
  }

  /** Unsent chunks (the first may be partly sent). */
  get length(): number {
    return this.chunks.length - this.head;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.bytes += chunk.length;
  }

  /** Marks the first `sent` bytes as written and drops the chunks they finish. */
  consume(sent: number): void {
    this.bytes -= sent;
    if (this.bytes === 0) {
      this.chunks.length = 0;
      this.head = 0;
      this.offset = 0;
      return;
    }
    let left = sent + this.offset;
    while (left >= this.chunks[this.head]!.length) left -= this.chunks[this.head++]!.length;
    this.offset = left;
    // Compact now and then, so a long-lived queue does not keep sent chunks reachable.
    if (this.head >= 64 && this.head * 2 >= this.chunks.length) {
      this.chunks.splice(0, this.head);
      this.head = 0;
    }
  }

  /** Drops everything (the connection is gone). */
  clear(): void {
    this.consume(this.bytes);
  }
}
