// The recording's writer thread (a worker started by recorder.ts): reads the ring's records
// (record-ring.ts), turns them into the trace file's JSON lines and writes them. After the head
// the loop's thread wrote, it is the only writer of the file. It sleeps when it has caught up, at
// most IDLE_MS: the file is at most that far behind what the loop has published.
import { writeSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { bytesOfRecord, putBytes, type BytesOfRecord } from './line-bytes.js';
import { pidTid } from './line-format.js';
import {
  CONTROL, FIRST_SHAPE, RECORD, STATE,
  type RingMemory, type ShapeDefinition,
} from './record-ring.js';

export interface WriterData {
  memory: RingMemory;
  /** The file, opened and closed by the loop's thread. */
  fd: number;
}

/** Write the output out once it holds this many bytes... */
const FLUSH_BYTES = 64 * 1024;
/** ...from a buffer this big: room for the longest line of a record (its strings are at most
 *  STRING_MAX units, 6 bytes of JSON each) past FLUSH_BYTES. */
const OUT_BYTES = 512 * 1024;
/** Longest sleep with nothing to do: how far behind the file may be when nothing wakes the
 *  writer (a quiet server; the libuv engine, which reports no rounds). */
const IDLE_MS = 50;

const SEPARATOR = Buffer.from(',\n');

class RecordWriter {
  private readonly f64: Float64Array;
  private readonly bytes: Buffer;
  private readonly control: Int32Array;
  private readonly size: number;
  private readonly pidTid = pidTid(process.pid);
  /** The strings of fields, as JSON in UTF-8. */
  private readonly quoted: Uint8Array[] = [];
  private readonly lines: BytesOfRecord[] = [];
  /** Fields of each shape, and which of them are JSON (their slot counts its tokens). */
  private readonly fields: number[] = [];
  private readonly jsonFields: number[][] = [];
  private r = 0;
  private readonly out = Buffer.alloc(OUT_BYTES);
  private readonly view = new DataView(this.out.buffer, this.out.byteOffset, this.out.byteLength);
  private p = 0;
  /** Inside a long line (after its first part). */
  private continued = false;

  constructor(
    memory: RingMemory,
    private readonly fd: number,
  ) {
    this.f64 = new Float64Array(memory.data);
    this.bytes = Buffer.from(memory.data);
    this.control = new Int32Array(memory.control);
    this.size = memory.data.byteLength;
  }

  /** Until the close record, or a failed write. */
  run(): void {
    for (;;) {
      const w = Atomics.load(this.control, CONTROL.write);
      if (this.r === w) {
        this.write();
        Atomics.store(this.control, CONTROL.sleeping, 1);
        // Returns at once if the loop published since w was read: no wake-up is lost.
        Atomics.wait(this.control, CONTROL.write, w, IDLE_MS);
        Atomics.store(this.control, CONTROL.sleeping, 0);
        continue;
      }
      while (this.r !== w) {
        if (!this.next()) return this.finish();
        if (this.p >= FLUSH_BYTES) {
          this.write();
          this.release();
        }
      }
      this.release();
    }
  }

  /** Reads the record at r; false at the close record. */
  private next(): boolean {
    const at = this.r >> 3;
    const f = this.f64;
    const tag = f[at]!;
    let end: number;
    if (tag >= FIRST_SHAPE) {
      const shape = tag - FIRST_SHAPE;
      this.p = this.lines[shape]!(this.out, this.view, this.p, f, at);
      let slots = 3 + this.fields[shape]!;
      for (const i of this.jsonFields[shape]!) slots += f[at + 3 + i]!;
      end = this.r + slots * 8;
    } else if (tag === RECORD.wrap) {
      this.r = 0;
      return true;
    } else if (tag === RECORD.line || tag === RECORD.linePart) {
      const length = f[at + 1]!;
      this.copyText(this.r + 16, length);
      this.continued = tag === RECORD.linePart;
      end = this.r + 16 + ((length + 7) & ~7);
    } else if (tag === RECORD.string || tag === RECORD.shape) {
      const id = f[at + 1]!;
      const length = f[at + 2]!;
      const text = this.bytes.toString('utf8', this.r + 24, this.r + 24 + length);
      if (tag === RECORD.string) {
        this.quoted[id] = Buffer.from(JSON.stringify(text));
      } else {
        const definition = JSON.parse(text) as ShapeDefinition;
        this.lines[id] = bytesOfRecord(definition, this.pidTid, this.quoted);
        this.fields[id] = definition.keys.length;
        this.jsonFields[id] = definition.types.flatMap((type, i) => (type === 'j' ? [i] : []));
      }
      end = this.r + 24 + ((length + 7) & ~7);
    } else if (tag === RECORD.close) {
      this.r += 8;
      return false;
    } else {
      throw new Error(`recording ring: unknown record tag ${tag} at ${this.r}`);
    }
    this.r = end === this.size ? 0 : end;
    return true;
  }

  /** A line (or part of one) that is UTF-8 in the ring already, after its separator. */
  private copyText(start: number, length: number): void {
    const separator = this.continued ? 0 : SEPARATOR.length;
    if (this.p + separator + length > OUT_BYTES) this.write();
    if (separator > 0) this.p = putBytes(this.out, this.p, SEPARATOR);
    if (this.p + length > OUT_BYTES) {
      this.write();
      writeSync(this.fd, this.bytes, start, length);
      return;
    }
    this.out.set(this.bytes.subarray(start, start + length), this.p);
    this.p += length;
  }

  /** Room for the loop: everything before r has been read. */
  private release(): void {
    Atomics.store(this.control, CONTROL.read, this.r);
    Atomics.notify(this.control, CONTROL.read);
  }

  /** The output so far to the file. */
  private write(): void {
    if (this.p > 0) {
      writeSync(this.fd, this.out, 0, this.p);
      this.p = 0;
    }
  }

  /** The close record: the end of the array. */
  private finish(): void {
    this.p += this.out.write('\n]\n', this.p);
    this.write();
    this.release();
    this.setState(STATE.done);
  }

  setState(state: number): void {
    Atomics.store(this.control, CONTROL.state, state);
    Atomics.notify(this.control, CONTROL.state);
  }
}

/** The writer's nice value. The loop must not wait for its own recording: on Linux the nice value
 *  is per thread (setpriority on the calling thread), so the writer yields the cores to the loop
 *  (and to anything else at full load) and writes in their idle time; if it falls a whole ring
 *  behind, the ring's backpressure makes the loop wait for it after all. */
const WRITER_NICE = 19;

try {
  setPriority(WRITER_NICE);
} catch {
  // Not allowed (some sandboxes): the writer runs at the loop's priority.
}

const { memory, fd } = workerData as WriterData;
const writer = new RecordWriter(memory, fd);
try {
  writer.run();
} catch (error) {
  // A failed write (disk full, ...) stops the recording, not the server: the loop's thread sees
  // the state and says so.
  writer.setState(STATE.failed);
  parentPort?.postMessage((error as Error).message);
}
