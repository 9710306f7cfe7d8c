// The hand-off from the loop's thread to the recording's writer thread (record-writer.ts): records
// in a ring of shared memory. The loop's thread stores numbers — an event is its shape's tag, its
// time, its track and its field values (event-encoder.ts) — and the writer thread turns them into
// the file's JSON lines: building that text on the loop's thread was most of what --record cost.
// Nothing is posted per record: the writer reads the positions, sleeps when it has caught up (at
// most IDLE_MS, record-writer.ts), and is woken (Atomics.notify) only when it sleeps and much is
// waiting, and at close. The loop never waits for the file, except when the ring is full (then it
// must: that bounds the memory) and at close.
//
// Layout: a record starts on an 8-byte boundary and never straddles the end (a WRAP record sends
// the reader back to 0). Its first slot (a float64) is its tag: one of RECORD below, or
// FIRST_SHAPE + n for an event of shape n: [tag, ts (ns), tid, one slot per field, then the
// tokens of its JSON fields].
// Text records are [tag, byte length, UTF-8 bytes...]. The writer never lets the ring fill up
// completely: equal positions mean empty.

/** Record tags below FIRST_SHAPE. */
export const RECORD = {
  /** Nothing more before the end: go on at 0. */
  wrap: 1,
  /** A complete line of the file. */
  line: 2,
  /** The first part of a long line; the next `line` record ends it. */
  linePart: 3,
  /** [tag, id, length, bytes]: string id, for the fields of events after it. */
  string: 4,
  /** [tag, id, length, bytes]: shape id as JSON (a ShapeDefinition). */
  shape: 5,
  /** End the file ("]") and close it. */
  close: 6,
} as const;

/** Tag of an event of shape n: FIRST_SHAPE + n. */
export const FIRST_SHAPE = 16;

/** A field's type in a shape: a number, a string (its id), a boolean (0 or 1), or any JSON value
 *  (its slot holds how many slots of tokens it has after the record's fields: json-tokens.ts). */
export type FieldType = 'n' | 's' | 'b' | 'j';

/** What a shape record says: the line of such a record is head, ts, pid, tid, then args. */
export interface ShapeDefinition {
  /** The line's constant start, up to and including `"ts":`. */
  head: string;
  /** The args' keys, in order. */
  keys: string[];
  types: FieldType[];
}

/** Int32 slots of the control block. */
export const CONTROL = {
  /** Where the next record goes (the loop's thread). */
  write: 0,
  /** Where the next record to read is (the writer). */
  read: 1,
  /** 1 while the writer waits for records. */
  sleeping: 2,
  /** STATE below (the writer). */
  state: 3,
} as const;
export const CONTROL_SLOTS = 8;

export const STATE = { running: 0, done: 1, failed: 2 } as const;

/** Ring size: 8 MiB is ~200,000 events, a second of full load, if the writer falls behind. */
export const RING_BYTES = 8 * 1024 * 1024;
/** Longest text record, in UTF-16 units; longer lines go in parts (3 bytes per unit at most). */
export const TEXT_CHUNK = 64 * 1024;
/** Longest string a record's field may be (in UTF-16 units); an event with a longer one is
 *  written as a line. */
export const STRING_MAX = 1024;
/** Wake a sleeping writer once this much waits. */
const WAKE_BYTES = 256 * 1024;
/** Tell the writer where the records end (an atomic store, ~20 ns) every this many records, at
 *  every line and at close; the recorder publishes before the loop may block. */
const PUBLISH_RECORDS = 64;
/** Give up recording when the writer makes no room for this long (it died, or the disk hangs). */
const STUCK_MS = 10_000;
/** How long close() waits for the writer to end the file. */
const CLOSE_MS = 5_000;

/** The shared memory of one ring. */
export interface RingMemory {
  control: SharedArrayBuffer;
  data: SharedArrayBuffer;
}

export function ringMemory(bytes = RING_BYTES): RingMemory {
  const data = new SharedArrayBuffer(bytes);
  // Touch every page now: the first lap through fresh pages cost the loop a page fault per 4 KiB.
  new Uint8Array(data).fill(1).fill(0);
  return { control: new SharedArrayBuffer(CONTROL_SLOTS * 4), data };
}

/** Bytes of a text record holding up to units UTF-16 units. */
function textRecordBytes(units: number): number {
  return 16 + ((3 * units + 7) & ~7);
}

/** The loop's side: appends records. A writer that stopped (failed, or stuck) turns every call
 *  into nothing; `stopped` says why. Records become visible to the writer when published. */
export class RingWriter {
  readonly f64: Float64Array;
  private readonly bytes: Buffer;
  private readonly control: Int32Array;
  private readonly size: number;
  private w = 0;
  /** Records the writer cannot see yet. */
  unpublished = 0;
  private strings = new Map<string, number>();
  private shapes = 0;
  stopped: string | null = null;

  constructor(memory: RingMemory) {
    this.f64 = new Float64Array(memory.data);
    this.bytes = Buffer.from(memory.data);
    this.control = new Int32Array(memory.control);
    this.size = memory.data.byteLength;
  }

  /** Room for slots float64s: the index of the first, or -1 when the writer has stopped. */
  reserve(slots: number): number {
    const at = this.reserveBytes(slots * 8);
    return at < 0 ? -1 : at >> 3;
  }

  /** The record reserved at slot `at` is complete, `slots` long. */
  commit(at: number, slots: number): void {
    this.commitBytes(at * 8 + slots * 8);
  }

  /** A line of the file, written as it is. */
  line(text: string): void {
    let start = 0;
    while (text.length - start > TEXT_CHUNK) {
      let end = start + TEXT_CHUNK;
      // Never split a surrogate pair.
      const unit = text.charCodeAt(end - 1);
      if (unit >= 0xd800 && unit < 0xdc00) end--;
      this.text(RECORD.linePart, -1, text.slice(start, end));
      start = end;
    }
    this.text(RECORD.line, -1, start === 0 ? text : text.slice(start));
    this.publish();
  }

  /** Lets the writer see every record so far; wakes it if it sleeps and much is waiting. */
  publish(): void {
    this.unpublished = 0;
    Atomics.store(this.control, CONTROL.write, this.w);
    if (Atomics.load(this.control, CONTROL.sleeping) === 1) {
      const r = Atomics.load(this.control, CONTROL.read);
      if ((this.w - r + this.size) % this.size >= WAKE_BYTES) this.wake();
    }
  }

  /** The id of string s for an event's field, defined in the ring the first time; -1 once the
   *  table is full (the event is written as a line instead). */
  string(s: string): number {
    const id = this.strings.get(s);
    if (id !== undefined) return id;
    // A few words recur (why, reason, code); addresses of accepted peers do not: stop interning
    // at this many rather than grow without bound.
    if (this.strings.size >= 4096 || s.length > STRING_MAX) return -1;
    const next = this.strings.size;
    this.strings.set(s, next);
    this.text(RECORD.string, next, s);
    return next;
  }

  /** Defines a shape; its id. */
  shape(definition: ShapeDefinition): number {
    const id = this.shapes++;
    this.text(RECORD.shape, id, JSON.stringify(definition));
    return id;
  }

  /** The last record: the writer ends the file and closes it. Waits (at most CLOSE_MS) for it:
   *  'done' (the file is closed), 'failed' (the writer stopped on an error: the fd is still open),
   *  or 'late' (no answer in time: the writer may still close it). */
  close(): 'done' | 'failed' | 'late' {
    const state = Atomics.load(this.control, CONTROL.state);
    if (state === STATE.failed) return 'failed';
    const at = this.reserveBytes(8);
    if (at < 0) return Atomics.load(this.control, CONTROL.state) === STATE.failed ? 'failed' : 'late';
    this.f64[at >> 3] = RECORD.close;
    this.commitBytes(at + 8);
    this.publish();
    this.wake();
    const deadline = performance.now() + CLOSE_MS;
    for (;;) {
      const now = Atomics.load(this.control, CONTROL.state);
      if (now !== STATE.running) return now === STATE.done ? 'done' : 'failed';
      const left = deadline - performance.now();
      if (left <= 0) return 'late';
      Atomics.wait(this.control, CONTROL.state, now, left);
    }
  }

  /** A text record: [tag, id or length...]. */
  private text(tag: number, id: number, s: string): void {
    const header = id < 0 ? 16 : 24;
    const at = this.reserveBytes(header - 16 + textRecordBytes(s.length));
    if (at < 0) return;
    const length = this.bytes.write(s, at + header, 'utf8');
    const slot = at >> 3;
    this.f64[slot] = tag;
    if (id < 0) {
      this.f64[slot + 1] = length;
    } else {
      this.f64[slot + 1] = id;
      this.f64[slot + 2] = length;
    }
    this.commitBytes(at + header + ((length + 7) & ~7));
  }

  private reserveBytes(bytes: number): number {
    if (this.stopped !== null) return -1;
    let stuckSince = 0;
    for (;;) {
      const w = this.w;
      const r = Atomics.load(this.control, CONTROL.read);
      if (w >= r) {
        // Ending exactly at the end wraps to 0, which must not look empty.
        if (w + bytes < this.size || (w + bytes === this.size && r !== 0)) return w;
        if (bytes < r) {
          this.f64[w >> 3] = RECORD.wrap;
          this.w = 0;
          return 0;
        }
      } else if (w + bytes < r) {
        return w;
      }
      // Full: the writer is behind. Wake it and wait for room (this is the backpressure).
      this.publish();
      if (Atomics.load(this.control, CONTROL.state) !== STATE.running) return this.stop('the writer thread stopped');
      const now = performance.now();
      if (stuckSince === 0) stuckSince = now;
      else if (now - stuckSince > STUCK_MS) return this.stop(`the writer made no room for ${STUCK_MS / 1000} s`);
      this.wake();
      Atomics.wait(this.control, CONTROL.read, r, 100);
    }
  }

  private commitBytes(end: number): void {
    this.w = end === this.size ? 0 : end;
    if (++this.unpublished >= PUBLISH_RECORDS) this.publish();
  }

  private wake(): void {
    Atomics.notify(this.control, CONTROL.write);
  }

  private stop(why: string): -1 {
    this.stopped = why;
    return -1;
  }
}
