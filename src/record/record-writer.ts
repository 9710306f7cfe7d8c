// The recording's writer thread (a worker started by recorder.ts): reads the ring's records
// (record-ring.ts), turns them into the trace file's JSON lines and writes them. It is the only
// writer of the file. It sleeps when it has caught up, at most IDLE_MS, so a file is at most
// that far behind even when nothing wakes it (the libuv engine reports no rounds).
import { writeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { lineExpression, numberJson } from './line-compiler.js';
import { jsonValue, micros, pidTid } from './line-format.js';
import {
  CONTROL, FIRST_SHAPE, RECORD, STATE,
  type RingMemory, type ShapeDefinition,
} from './record-ring.js';

export interface WriterData {
  memory: RingMemory;
  /** The file, opened and closed by the loop's thread. */
  fd: number;
}

/** Write the text out once it holds this many characters. */
const FLUSH_CHARS = 64 * 1024;
/** Longest sleep with nothing to do. */
const IDLE_MS = 100;

/** The line of one shape's record at slot `at`: ts formatted, tid its track. */
type LineOfRecord = (f: Float64Array, at: number, ts: string, tid: number) => string;

/** quoted[id] is string id as JSON. */
function lineOfRecord(definition: ShapeDefinition, quoted: string[]): LineOfRecord {
  const values = definition.types.map((type, i) => {
    const slot = `f[at + ${3 + i}]`;
    return type === 's' ? `quoted[${slot}]` : type === 'b' ? `(${slot} !== 0 ? 'true' : 'false')` : numberJson(slot);
  });
  const body = `return ${lineExpression(definition.head, pidTid(process.pid), definition.keys, values)};`;
  const make = new Function('json', 'quoted', `return function (f, at, ts, tid) { ${body} };`);
  return make(jsonValue, quoted) as LineOfRecord;
}

class RecordWriter {
  private readonly f64: Float64Array;
  private readonly bytes: Buffer;
  private readonly control: Int32Array;
  private readonly size: number;
  /** The strings of fields, as JSON. */
  private readonly quoted: string[] = [];
  private readonly lines: LineOfRecord[] = [];
  private readonly slots: number[] = [];
  private r = 0;
  private records = 0;
  private text = '';
  /** The first parts of a long line. */
  private part = '';

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
        // Returns at once if the loop wrote since w was read: no wake-up is lost.
        Atomics.wait(this.control, CONTROL.write, w, IDLE_MS);
        Atomics.store(this.control, CONTROL.sleeping, 0);
        continue;
      }
      while (this.r !== w) {
        if (!this.next()) return this.finish();
        if (this.text.length >= FLUSH_CHARS) {
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
      this.append(this.lines[shape]!(f, at, micros(f[at + 1]!), f[at + 2]!));
      end = this.r + this.slots[shape]! * 8;
    } else if (tag === RECORD.wrap) {
      this.r = 0;
      return true;
    } else if (tag === RECORD.line || tag === RECORD.linePart) {
      const length = f[at + 1]!;
      const text = this.bytes.toString('utf8', this.r + 16, this.r + 16 + length);
      if (tag === RECORD.linePart) {
        this.part += text;
      } else {
        this.append(this.part + text);
        this.part = '';
      }
      end = this.r + 16 + ((length + 7) & ~7);
    } else if (tag === RECORD.string || tag === RECORD.shape) {
      const id = f[at + 1]!;
      const length = f[at + 2]!;
      const text = this.bytes.toString('utf8', this.r + 24, this.r + 24 + length);
      if (tag === RECORD.string) {
        this.quoted[id] = JSON.stringify(text);
      } else {
        const definition = JSON.parse(text) as ShapeDefinition;
        this.lines[id] = lineOfRecord(definition, this.quoted);
        this.slots[id] = 3 + definition.keys.length;
      }
      end = this.r + 24 + ((length + 7) & ~7);
    } else if (tag === RECORD.close) {
      this.r += 8;
      this.records = (this.records + 1) | 0;
      return false;
    } else {
      throw new Error(`recording ring: unknown record tag ${tag} at ${this.r}`);
    }
    this.r = end === this.size ? 0 : end;
    this.records = (this.records + 1) | 0;
    return true;
  }

  /** The file has its "[" and first lines already (the loop's thread wrote them). */
  private append(line: string): void {
    this.text += `,\n${line}`;
  }

  /** Room for the loop: everything before r has been read. */
  private release(): void {
    Atomics.store(this.control, CONTROL.read, this.r);
    Atomics.notify(this.control, CONTROL.read);
  }

  /** The text so far to the file; then every record read is written. */
  private write(): void {
    if (this.text.length > 0) {
      writeSync(this.fd, this.text);
      this.text = '';
    }
    if (Atomics.load(this.control, CONTROL.written) !== this.records) {
      Atomics.store(this.control, CONTROL.written, this.records);
      Atomics.notify(this.control, CONTROL.written);
    }
  }

  /** The close record: the end of the array, and the file closed. */
  private finish(): void {
    this.text += '\n]\n';
    this.write();
    this.release();
    this.setState(STATE.done);
  }

  setState(state: number): void {
    Atomics.store(this.control, CONTROL.state, state);
    Atomics.notify(this.control, CONTROL.state);
  }
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
