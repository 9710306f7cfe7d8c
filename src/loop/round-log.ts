// A round's output, each frame stored once. A broadcast to five hundred members is one frame in
// the log and five hundred ranges pointing at it, not five hundred copies: a member's output for
// the round is a few ranges of the log (usually one: it got everything but its own lines), and
// the round-end send gathers them (sendmsg) straight from here. The C reference server copies a
// broadcast into every client's buffer; this does not copy it at all.

/** First capacity; a round that overflows the log makes the next one's twice as large. */
const INITIAL_BYTES = 256 * 1024;
/** The largest log kept between rounds: a bigger round spills into per-connection copies. */
const MAX_BYTES = 64 * 1024 * 1024;

/** An output that points into the log: before the log is reused it must copy out what it still
 *  needs. */
export interface LogHolder {
  release(): void;
}

export class RoundLog {
  private data = Buffer.allocUnsafe(INITIAL_BYTES);
  private used = 0;
  /** The frame placed last and where: a broadcast places its frame once for every member. */
  private lastFrame: Uint8Array | null = null;
  private lastOffset = 0;
  /** A frame did not fit this round: grow before the next. */
  private overflowed = false;
  /** Outputs given offsets since the last reset. */
  private readonly holders: LogHolder[] = [];

  /** The buffer every offset refers to (valid until reset()). */
  get buffer(): Buffer {
    return this.data;
  }

  /** Where frame's bytes are in the log, placing them if it is not the frame placed last; -1
   *  when they do not fit (the caller keeps a copy of its own instead). */
  place(frame: Uint8Array): number {
    if (frame === this.lastFrame) return this.lastOffset;
    const length = frame.length;
    if (this.used + length > this.data.length) return this.full();
    const offset = this.used;
    this.data.set(frame, offset);
    this.used = offset + length;
    this.lastFrame = frame;
    this.lastOffset = offset;
    return offset;
  }

  /** Places a copy of bytes[start, end) and a '\n'; returns where, or -1 when it does not fit. */
  placeLine(bytes: Buffer, start: number, end: number): number {
    const length = end - start + 1;
    if (this.used + length > this.data.length) return this.full();
    const offset = this.used;
    bytes.copy(this.data, offset, start, end);
    this.data[offset + length - 1] = 0x0a;
    this.used = offset + length;
    this.lastFrame = null;
    return offset;
  }

  /** holder was given an offset: it is released before the log is reused. */
  hold(holder: LogHolder): void {
    this.holders.push(holder);
  }

  /** The round is over: every holder copies out what it has not sent, and the log starts afresh. */
  reset(): void {
    const holders = this.holders;
    for (let i = 0; i < holders.length; i++) holders[i]!.release();
    holders.length = 0;
    this.used = 0;
    this.lastFrame = null;
    if (this.overflowed) {
      this.overflowed = false;
      if (this.data.length < MAX_BYTES) this.data = Buffer.allocUnsafe(this.data.length * 2);
    }
  }

  private full(): number {
    this.overflowed = true;
    return -1;
  }
}
