// framing — the wire format. A frame is one line of UTF-8 text ended by '\n'; a '\r' right before
// the '\n' is dropped (so `nc -C` and telnet are clients), a lone '\r' is a byte of the line.
// LineDecoder is one socket's receive buffer: it survives the three failures of a raw recv() loop
// (two messages merged in one recv, one message split over several, a UTF-8 character split in
// two) by decoding a line only once all of it is there. encodeLine (line-encoder.ts) is the inverse.
import { constants as bufferConstants, isUtf8 } from 'node:buffer';

export const ERR_LINE_TOO_LONG = 'ERR_LINE_TOO_LONG';
export const ERR_INVALID_UTF8 = 'ERR_INVALID_UTF8';
export type FrameError = typeof ERR_LINE_TOO_LONG | typeof ERR_INVALID_UTF8;

/** Longest line content accepted by default, in bytes: Redis' inline-command limit. */
export const DEFAULT_MAX_LINE_BYTES = 65536;

const LF = 0x0a;
const CR = 0x0d;
const REPLACEMENT_CHARACTER = '\uFFFD';
/** Ranges up to this many bytes are scanned and copied in JS: cheaper than a call into C++. */
const SHORT_RANGE_BYTES = 32;
/** First capacity of a pending buffer; it doubles from there, up to maxLineBytes + 1. */
const INITIAL_PENDING_BYTES = 256;
const NO_BYTES = Buffer.alloc(0);

/** Receives what a decoder finds, in order. A connection object implements it (no closures per chunk). */
export interface LineSink {
  line(text: string): void;
  reject(code: FrameError): void;
  /** For a decoder made with `bytes: true`: a complete, valid UTF-8 line as bytes[start, end)
   *  (a view of a buffer reused afterwards: copy what is kept). */
  lineBytes?(bytes: Buffer, start: number, end: number): void;
}

export interface LineDecoderOptions {
  maxLineBytes?: number;
  /** Deliver lines as checked bytes (sink.lineBytes) instead of strings: for a sink that only
   *  passes a line on (echo), which then never costs a string decode and re-encode. */
  bytes?: boolean;
}

/**
 * The receive buffer of one socket: bytes of each recv() in, complete lines out. Every byte is
 * scanned for '\n' once and copied at most once (amortised), so cost is linear however the bytes
 * are cut. Holds at most maxLineBytes + 1 bytes; past that it rejects the line and discards up to
 * the next '\n'. The sink may call stop() (backpressure: the lines it handled produced enough
 * output for now); nothing else of the decoder.
 */
export class LineDecoder {
  readonly maxLineBytes: number;
  private readonly asBytes: boolean;
  /** The unfinished line: pending[0, pendingLength). It never holds a '\n'. */
  private pending: Buffer = NO_BYTES;
  private pendingLength = 0;
  /** True after an over-long line was rejected, until its '\n' arrives. */
  private discarding = false;
  /** Set by stop() from inside a sink call: push() returns after the current result. */
  private stopped = false;
  /** What push() had not looked at when it stopped (a copy, owned here); resume() feeds it. */
  private backlog: Buffer | null = null;
  /** The backlog resume() is feeding: slices of it need no copy. */
  private resuming: Buffer | null = null;
  /** Within one push(): bytes[checkedFrom, checkedTo) are whole lines already checked as valid
   *  UTF-8 in one native call, so the lines in it skip their own check. */
  private checked: Buffer | null = null;
  private checkedFrom = 0;
  private checkedTo = 0;

  constructor(options: LineDecoderOptions = {}) {
    const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    if (!Number.isSafeInteger(maxLineBytes) || maxLineBytes < 0 || maxLineBytes >= bufferConstants.MAX_LENGTH) {
      throw new RangeError(`maxLineBytes must be an integer in [0, ${bufferConstants.MAX_LENGTH}), got ${maxLineBytes}`);
    }
    this.maxLineBytes = maxLineBytes;
    this.asBytes = options.bytes === true;
  }

  /** Feeds chunk[start, end) (a view of a reused buffer: copies what it keeps). Calls sink per result; returns how many results (lines + rejects) it produced. */
  push(chunk: Uint8Array, start: number, end: number, sink: LineSink): number {
    if (!(start >= 0 && start <= end && end <= chunk.length)) {
      throw new RangeError(`range [${start}, ${end}) is not within a chunk of ${chunk.length} bytes`);
    }
    if (this.stopped || this.backlog !== null) return this.holdBack(chunk, start, end);
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    // indexOf has no end bound: it searches a view that stops at end, never the stale bytes past it.
    let bounded = end === bytes.length ? bytes : undefined;
    this.checked = null;
    if (this.asBytes && end - start >= BULK_CHECK_BYTES) this.checkLines(bytes, start, end);
    let results = 0;
    let from = start;
    while (from < end) {
      let newline: number;
      if (end - from <= SHORT_RANGE_BYTES) {
        newline = indexOfNewline(bytes, from, end);
      } else {
        bounded ??= bytes.subarray(0, end);
        newline = bounded.indexOf(LF, from);
      }
      if (newline === -1) return results + this.hold(bytes, from, end, sink);
      if (this.discarding) {
        this.discarding = false;
      } else {
        if (this.pendingLength === 0) this.emit(bytes, from, newline, sink);
        else this.completePending(bytes, from, newline, sink);
        results++;
      }
      from = newline + 1;
      if (this.stopped && from < end) {
        // The backlog is our own copy unless these bytes already are one (a resumed backlog).
        this.backlog = bytes === this.resuming ? bytes.subarray(from, end) : Buffer.from(bytes.subarray(from, end));
        return results;
      }
    }
    return results;
  }

  /** Input that arrives while stopped (a reader cannot always stop at once: libuv may have a
   *  chunk in flight) joins the backlog, in order, unlooked at. */
  private holdBack(chunk: Uint8Array, start: number, end: number): number {
    const more = chunk.subarray(start, end);
    this.backlog = this.backlog === null ? Buffer.from(more) : Buffer.concat([this.backlog, more]);
    return 0;
  }

  /** Called by the sink during push(): deliver nothing more until resume(). The rest of the
   *  chunk is kept (at most one receive buffer's worth) and nothing more should be read. */
  stop(): void {
    this.stopped = true;
  }

  /** Is the decoder stopped, or still holding input that arrived before a stop()? */
  get stoppedOrBacklogged(): boolean {
    return this.stopped || this.backlog !== null;
  }

  /** Bytes held since a stop(), not yet looked at. */
  get backlogBytes(): number {
    return this.backlog?.length ?? 0;
  }

  /** Goes on after a stop(): feeds the backlog to sink (which may stop it again). Returns how
   *  many results it produced. */
  resume(sink: LineSink): number {
    this.stopped = false;
    const backlog = this.backlog;
    if (backlog === null) return 0;
    this.backlog = null;
    this.resuming = backlog;
    try {
      return this.push(backlog, 0, backlog.length, sink);
    } finally {
      this.resuming = null;
    }
  }

  /** Bytes of an unfinished line held now (0 while discarding an over-long line). */
  get pendingBytes(): number {
    return this.pendingLength;
  }

  /** End of stream: returns the byte count of the unterminated partial line dropped (0 if none)
   *  and resets the decoder (a backlog, input the session never looked at, goes too). */
  finish(): number {
    const dropped = this.pendingLength;
    this.pending = NO_BYTES;
    this.pendingLength = 0;
    this.discarding = false;
    this.stopped = false;
    this.backlog = null;
    return dropped;
  }

  /** Keeps the tail of a chunk that has no '\n' yet, or rejects the line as soon as it cannot fit. */
  private hold(bytes: Buffer, from: number, end: number, sink: LineSink): number {
    if (this.discarding) return 0;
    const held = this.pendingLength + (end - from);
    // A final '\r' may be the first half of "\r\n", which does not count towards the limit.
    const contentAtLeast = bytes[end - 1] === CR ? held - 1 : held;
    if (contentAtLeast > this.maxLineBytes) {
      this.pendingLength = 0;
      this.discarding = true;
      sink.reject(ERR_LINE_TOO_LONG);
      return 1;
    }
    this.reserve(held);
    copyBytes(bytes, from, end, this.pending, this.pendingLength);
    this.pendingLength = held;
    return 0;
  }

  /** Ends the pending line with bytes[from, newline): checks the limit before copying anything. */
  private completePending(bytes: Buffer, from: number, newline: number, sink: LineSink): void {
    const held = this.pendingLength;
    const total = held + (newline - from);
    const lastByte = newline > from ? bytes[newline - 1] : this.pending[held - 1];
    const content = lastByte === CR ? total - 1 : total;
    if (content > this.maxLineBytes) {
      this.pendingLength = 0;
      return sink.reject(ERR_LINE_TOO_LONG);
    }
    this.reserve(total);
    copyBytes(bytes, from, newline, this.pending, held);
    this.pendingLength = 0;
    this.decode(this.pending, 0, content, sink);
  }

  /** Emits a line found whole inside one chunk, straight from the chunk: no copy. */
  private emit(bytes: Buffer, start: number, newline: number, sink: LineSink): void {
    const end = newline > start && bytes[newline - 1] === CR ? newline - 1 : newline;
    if (end - start > this.maxLineBytes) return sink.reject(ERR_LINE_TOO_LONG);
    this.decode(bytes, start, end, sink);
  }

  /**
   * Strict UTF-8 decoding at toString's speed: toString turns invalid bytes into U+FFFD, so only
   * a line whose text holds a U+FFFD needs the strict check that tells a real one from bad bytes.
   */
  private decode(bytes: Buffer, start: number, end: number, sink: LineSink): void {
    if (this.asBytes) {
      const checked = bytes === this.checked && start >= this.checkedFrom && end <= this.checkedTo;
      if (checked || isValidUtf8(bytes, start, end)) sink.lineBytes!(bytes, start, end);
      else sink.reject(ERR_INVALID_UTF8);
      return;
    }
    const text = bytes.toString('utf8', start, end);
    if (text.includes(REPLACEMENT_CHARACTER) && !isUtf8(bytes.subarray(start, end))) sink.reject(ERR_INVALID_UTF8);
    else sink.line(text);
  }

  /**
   * Checks the whole lines of bytes[start, end) — from the first line that starts in it (a line
   * begun in an earlier chunk may start mid-character) to the last '\n' — as UTF-8 in one native
   * call. Valid UTF-8 cut at '\n' bytes (ASCII, never inside a character) is valid UTF-8 in every
   * piece, so each of those lines then skips its own check; if the region is not valid, every
   * line is checked on its own as before, and the bad ones alone are rejected.
   */
  private checkLines(bytes: Buffer, start: number, end: number): void {
    let first = start;
    if (this.pendingLength > 0 || this.discarding) {
      const newline = bytes.indexOf(LF, start);
      if (newline < 0 || newline >= end) return;
      first = newline + 1;
    }
    const last = bytes.lastIndexOf(LF, end - 1);
    if (last - first < BULK_CHECK_BYTES / 2) return;
    if (!isUtf8(bytes.subarray(first, last))) return;
    this.checked = bytes;
    this.checkedFrom = first;
    this.checkedTo = last;
  }

  /** Grows the pending buffer to hold size bytes, by doubling, never past maxLineBytes + 1. */
  private reserve(size: number): void {
    if (size <= this.pending.length) return;
    let capacity = Math.max(this.pending.length * 2, INITIAL_PENDING_BYTES);
    while (capacity < size) capacity *= 2;
    const grown = Buffer.allocUnsafeSlow(Math.min(capacity, this.maxLineBytes + 1));
    this.pending.copy(grown, 0, 0, this.pendingLength);
    this.pending = grown;
  }
}

/** From this many bytes in one push(), the lines in it are checked as UTF-8 together, in one
 *  native call, rather than one by one (a few 64-byte lines and more: pipelined input). */
const BULK_CHECK_BYTES = 256;

/** Up to this many bytes a JS scan for the first non-ASCII byte costs less than a call into
 *  Node's SIMD validator (measured on Node 20: 24 vs 88 ns at 16 B, 85 vs 75 ns at 64 B,
 *  48 µs vs 0.7 µs at 64 KiB). */
const SCAN_IN_JS_BYTES = 64;

/** Strict UTF-8 check of bytes[start, end): for a short line a plain loop that ORs the bytes
 *  together four at a time (ASCII iff the OR is below 0x80: most chat lines, and cheaper than a
 *  view for the native check; 35–63 vs 82–94 ns for a 63-byte line than a compare per byte,
 *  Node 20 on the 2-core VM), the native isUtf8 if any byte is above; a longer line goes to
 *  isUtf8 whole. */
function isValidUtf8(bytes: Buffer, start: number, end: number): boolean {
  if (end - start > SCAN_IN_JS_BYTES) return isUtf8(bytes.subarray(start, end));
  let any = 0;
  let i = start;
  for (; i + 4 <= end; i += 4) any |= bytes[i]! | bytes[i + 1]! | bytes[i + 2]! | bytes[i + 3]!;
  for (; i < end; i++) any |= bytes[i]!;
  return any < 0x80 || isUtf8(bytes.subarray(start, end));
}

/** The first '\n' in bytes[from, end), or -1: a plain loop, for ranges too short to pay for indexOf. */
function indexOfNewline(bytes: Buffer, from: number, end: number): number {
  for (let i = from; i < end; i++) if (bytes[i] === LF) return i;
  return -1;
}

/** Copies source[from, end) to target at offset: in JS when short, else by Buffer.copy (memcpy). */
function copyBytes(source: Buffer, from: number, end: number, target: Buffer, offset: number): void {
  if (end - from > SHORT_RANGE_BYTES) source.copy(target, offset, from, end);
  else for (let i = from; i < end; i++) target[offset++] = source[i];
}
