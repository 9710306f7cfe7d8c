// An event as a record of the ring (record-ring.ts): for each shape of event, a function compiled
// the first time the shape is seen that stores its fields as numbers — a string as its id, a
// boolean as 0 or 1 — so recording an action costs the loop a few stores, not a line of text.
// The loop's own lines (a slice begins or ends, a counter) are records the same way.
import type { TraceEvent } from '../trace/events.js';
import { instantHead } from './line-format.js';
import { FIRST_SHAPE, type FieldType, type RingWriter, type ShapeDefinition } from './record-ring.js';
import { IDENTIFIER, ShapeTable } from './shape-table.js';

/** Appends event (ts in ns, tid its track); false when it cannot be a record (a field that is not
 *  a number, a string or a boolean, a string the ring no longer interns): write it as a line. */
export type Encoder = (event: TraceEvent, ts: number, tid: number) => boolean;

/** Appends a line of the loop's own: its args are {} or { key: value }. */
export type Marker = (ts: number, tid: number, value: number) => void;

const CANNOT: Encoder = () => false;

function fieldType(value: unknown): FieldType | null {
  switch (typeof value) {
    case 'number':
      return 'n';
    case 'string':
      return 's';
    case 'boolean':
      return 'b';
    default:
      return null;
  }
}

const TYPEOF: Record<FieldType, string> = { n: 'number', s: 'string', b: 'boolean' };

export class EventEncoder {
  private shapeCount = 0;
  private readonly shapes = new ShapeTable<Encoder>((kind, keys, sample) => this.compile(kind, keys, sample));

  constructor(private readonly ring: RingWriter) {}

  encode(event: TraceEvent, ts: number, tid: number): boolean {
    return this.shapes.get(event)(event, ts, tid);
  }

  /** The marker of lines that start with head (up to `"ts":`) and have args {} (key null) or
   *  { key: value }. */
  marker(head: string, key: string | null): Marker {
    const id = this.define({ head, keys: key === null ? [] : [key], types: key === null ? [] : ['n'] });
    const tag = FIRST_SHAPE + id;
    const ring = this.ring;
    const slots = key === null ? 3 : 4;
    return (ts, tid, value) => {
      const at = ring.reserve(slots);
      if (at < 0) return;
      const f = ring.f64;
      f[at] = tag;
      f[at + 1] = ts;
      f[at + 2] = tid;
      if (slots === 4) f[at + 3] = value;
      ring.commit(at, slots);
    };
  }

  private define(definition: ShapeDefinition): number {
    const id = this.shapeCount++;
    this.ring.shape(id, definition);
    return id;
  }

  private compile(kind: string, keys: string[], sample: TraceEvent): Encoder {
    const fields = keys.filter((key) => key !== 'kind');
    const types = fields.map((key) => fieldType((sample as unknown as Record<string, unknown>)[key]));
    if (!fields.every((key) => IDENTIFIER.test(key)) || types.includes(null)) return CANNOT;
    const id = this.define({ head: instantHead(kind), keys: fields, types: types as FieldType[] });
    const checks = fields.map((key, i) => `typeof e.${key} !== '${TYPEOF[types[i]!]}'`);
    const strings = fields.flatMap((key, i) => types[i] === 's' ? [`const s${i} = ring.string(e.${key}); if (s${i} < 0) return false;`] : []);
    const stores = fields.map((key, i) => {
      const value = types[i] === 's' ? `s${i}` : types[i] === 'b' ? `(e.${key} ? 1 : 0)` : `e.${key}`;
      return `f[at + ${3 + i}] = ${value};`;
    });
    const slots = 3 + fields.length;
    const body = [
      checks.length > 0 ? `if (${checks.join(' || ')}) return false;` : '',
      ...strings,
      `const at = ring.reserve(${slots}); if (at < 0) return true;`,
      'const f = ring.f64;',
      `f[at] = ${FIRST_SHAPE + id}; f[at + 1] = ts; f[at + 2] = tid;`,
      ...stores,
      `ring.commit(at, ${slots});`,
      'return true;',
    ].join('\n');
    const make = new Function('ring', `return function (e, ts, tid) {\n${body}\n};`) as (ring: RingWriter) => Encoder;
    return make(this.ring);
  }
}
