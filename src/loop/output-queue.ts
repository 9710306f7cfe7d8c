// A server connection's unsent output: during a round, ranges of the shared RoundLog (nothing
// copied); across rounds — what the kernel refused, kept until the socket is writable again —
// bytes of its own (a SendQueue). At any moment it is one or the other: once output has to be
// kept, everything after it is kept too, so the order never changes. Whose bytes they are is
// tracked alongside (OwnerRuns), for backpressure and the soft limit.
import { constants, native } from '../binding/native.js';
import { systemError } from '../binding/sys-error.js';
import { OwnerRuns, type OutputOwner } from './owner-runs.js';
import type { LogHolder, RoundLog } from './round-log.js';
import { SendQueue } from './send-queue.js';

const { EAGAIN } = constants;
/** The arguments of a one-socket sendRanges (a send alone, over the cap), reused. */
const SINGLE_FD = new Int32Array(1);
const SINGLE_START = new Int32Array(2);
const SINGLE_RESULT = new Int32Array(1);
let singleOffsets = new Int32Array(16);
let singleLengths = new Int32Array(16);

export class OutputQueue implements LogHolder {
  /** Ranges of the log: offsets and lengths of [head, count); contiguous frames share one. */
  private offsets: number[] = [];
  private lengths: number[] = [];
  private count = 0;
  private head = 0;
  /** Bytes in ranges [head, count). */
  private ranged = 0;
  /** Registered with the log since its last reset. */
  private holding = false;
  /** Output kept across rounds, when the kernel refused some or the log was full. */
  readonly kept = new SendQueue();
  private readonly runs: OwnerRuns;

  constructor(
    private readonly log: RoundLog,
    self: OutputOwner | null,
  ) {
    this.runs = new OwnerRuns(self);
  }

  /** Unsent bytes. */
  get bytes(): number {
    return this.ranged + this.kept.bytes;
  }

  get empty(): boolean {
    return this.ranged === 0 && this.kept.empty;
  }

  /** Unsent bytes that other connections' lines (or the server) produced. */
  get foreignBytes(): number {
    return this.runs.foreign;
  }

  /** Ranges waiting to be gathered this round: [rangeHead, rangeCount). */
  get rangeHead(): number {
    return this.head;
  }

  get rangeCount(): number {
    return this.count;
  }

  rangeOffset(i: number): number {
    return this.offsets[i]!;
  }

  rangeLength(i: number): number {
    return this.lengths[i]!;
  }

  /** Queues frame (shared, never changed), charged to owner; returns the bytes unsent. */
  push(frame: Uint8Array, owner: OutputOwner | null): number {
    const length = frame.length;
    if (length === 0) return this.bytes;
    this.runs.add(owner, length);
    if (this.kept.empty) {
      const offset = this.log.place(frame);
      if (offset >= 0) return this.addRange(offset, length);
      this.keepRanges();
    }
    this.kept.push(frame);
    return this.bytes;
  }

  /** Queues a copy of bytes[start, end) and a '\n', charged to owner; returns the bytes unsent. */
  pushLine(bytes: Buffer, start: number, end: number, owner: OutputOwner | null): number {
    const length = end - start + 1;
    this.runs.add(owner, length);
    if (this.kept.empty) {
      const offset = this.log.placeLine(bytes, start, end);
      if (offset >= 0) return this.addRange(offset, length);
      this.keepRanges();
    }
    this.kept.pushLine(bytes, start, end);
    return this.bytes;
  }

  /** Whether the output is ranges of the log (sent by a round's gathered batch) rather than
   *  bytes of its own. */
  get ranges(): boolean {
    return this.count > this.head;
  }

  /** One send of everything queued, now (a gathering sendmsg of the ranges, or a send of the
   *  kept bytes): bytes taken or -EAGAIN; a failure throws. */
  sendTo(fd: number): number {
    if (this.count > this.head) {
      SINGLE_FD[0] = fd;
      SINGLE_START[0] = 0;
      SINGLE_START[1] = this.count - this.head;
      const ranges = this.count - this.head;
      if (ranges > singleOffsets.length) {
        singleOffsets = new Int32Array(2 * ranges);
        singleLengths = new Int32Array(2 * ranges);
      }
      for (let i = 0; i < ranges; i++) {
        singleOffsets[i] = this.offsets[this.head + i]!;
        singleLengths[i] = this.lengths[this.head + i]!;
      }
      native.sendRanges(SINGLE_FD, 1, this.log.buffer, SINGLE_START, singleOffsets, singleLengths, SINGLE_RESULT);
      const result = SINGLE_RESULT[0]!;
      if (result < 0 && result !== -EAGAIN) throw systemError(-result, 'sendmsg');
      return result;
    }
    return this.kept.sendTo(fd);
  }

  /** The kernel took n bytes from the front. */
  consume(n: number): void {
    this.runs.consume(n);
    if (this.count > this.head) this.consumeRanges(n);
    else this.kept.consume(n);
  }

  /** The log is about to be reused. */
  release(): void {
    this.holding = false;
    if (this.count > this.head) this.keepRanges();
  }

  /** What is left of the ranges becomes bytes of our own (the log is full, or about to be
   *  reused). */
  private keepRanges(): void {
    const buffer = this.log.buffer;
    for (let i = this.head; i < this.count; i++) {
      const offset = this.offsets[i]!;
      this.kept.push(buffer.subarray(offset, offset + this.lengths[i]!));
    }
    this.head = this.count = 0;
    this.ranged = 0;
  }

  /** Drops everything (the connection is gone): every producer is credited. */
  clear(): void {
    this.runs.clear();
    this.head = this.count = 0;
    this.ranged = 0;
    this.kept.clear();
  }

  private addRange(offset: number, length: number): number {
    if (!this.holding) {
      this.holding = true;
      this.log.hold(this);
    }
    const last = this.count - 1;
    if (last >= this.head && this.offsets[last]! + this.lengths[last]! === offset) {
      this.lengths[last] += length;
    } else {
      this.offsets[this.count] = offset;
      this.lengths[this.count] = length;
      this.count++;
    }
    this.ranged += length;
    return this.ranged + this.kept.bytes;
  }

  private consumeRanges(n: number): void {
    this.ranged -= n;
    while (n > 0) {
      const length = this.lengths[this.head]!;
      if (n < length) {
        this.offsets[this.head] += n;
        this.lengths[this.head] = length - n;
        return;
      }
      n -= length;
      this.head++;
    }
    if (this.head === this.count) this.head = this.count = 0;
  }
}

/** A round's sends, made in one crossing (sendRanges): streams whose output is ranges of the
 *  round's log are added under an item of their owner's; run() sends everything, gathering
 *  each socket's ranges, and hands each item its result, in order. */
export class SendBatch<T> {
  private items: T[] = [];
  private fds = new Int32Array(64);
  /** Socket i's ranges are [starts[i], starts[i + 1]) of offsets/lengths. */
  private starts = new Int32Array(65);
  private offsets = new Int32Array(256);
  private lengths = new Int32Array(256);
  private ranges = 0;
  private results = new Int32Array(64);

  constructor(private readonly log: RoundLog) {}

  /** Stages a send of output's ranges to fd. */
  add(item: T, fd: number, output: OutputQueue): void {
    const i = this.items.length;
    if (i === this.fds.length) this.growSockets();
    const head = output.rangeHead;
    const count = output.rangeCount;
    while (this.ranges + count - head > this.offsets.length) this.growRanges();
    this.items.push(item);
    this.fds[i] = fd;
    this.starts[i] = this.ranges;
    for (let r = head; r < count; r++) {
      this.offsets[this.ranges] = output.rangeOffset(r);
      this.lengths[this.ranges] = output.rangeLength(r);
      this.ranges++;
    }
    this.starts[i + 1] = this.ranges;
  }

  /** Sends everything staged, then calls finish(item, result) for each: bytes taken, -EAGAIN,
   *  or -errno. */
  run(finish: (item: T, result: number) => void): void {
    const count = this.items.length;
    if (count === 0) return;
    native.sendRanges(this.fds, count, this.log.buffer, this.starts, this.offsets, this.lengths, this.results);
    const items = this.items;
    this.items = [];
    this.ranges = 0;
    for (let i = 0; i < count; i++) finish(items[i]!, this.results[i]!);
  }

  private growSockets(): void {
    this.fds = grown(this.fds, this.fds.length * 2);
    this.starts = grown(this.starts, this.fds.length + 1);
    this.results = new Int32Array(this.fds.length);
  }

  private growRanges(): void {
    this.offsets = grown(this.offsets, this.offsets.length * 2);
    this.lengths = grown(this.lengths, this.offsets.length);
  }
}

/** A copy of array with room for length values. */
function grown(array: Int32Array<ArrayBuffer>, length: number): Int32Array<ArrayBuffer> {
  const bigger = new Int32Array(length);
  bigger.set(array);
  return bigger;
}
