// An event as a record of the ring (record-ring.ts): for each shape of event, a function compiled
// the first time the shape is seen that stores its fields as numbers — a string as its id, a
// boolean as 0 or 1, an object as JSON tokens — so recording an action costs the loop a few
// stores, not a line of text. The loop's own lines (a slice begins or ends, a counter) are
// records the same way.
import type { TraceEvent } from '../trace/events.js';
import { JsonTokens } from './json-tokens.js';
import { FIRST_SHAPE, type FieldType, type RingWriter } from './record-ring.js';
import { IDENTIFIER, ShapeTable } from './shape-table.js';

/** Appends event (ts in ns; tid its track, unless it has an fd and the encoder a track
 *  function); false when it cannot be a record (a field of another type than the shape's first
 *  event had, a string the ring does not intern): write it as a line. */
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
    case 'object':
      return 'j';
    default:
      return null;
  }
}

const TYPEOF: Record<FieldType, string> = { n: 'number', s: 'string', b: 'boolean', j: 'object' };

export class EventEncoder {
  private readonly shapes = new ShapeTable<Encoder>((kind, keys, sample) => this.compile(kind, keys, sample));
  private readonly tokens: JsonTokens;

  /** head(kind): the start of an event's line, up to and including `"ts":`; track(fd, ts, event):
   *  the track of an event with an fd (>= 0), if events go on their fd's track. */
  constructor(
    private readonly ring: RingWriter,
    private readonly head: (kind: string) => string,
    private readonly track: ((fd: number, ts: number, event: TraceEvent) => number) | null = null,
  ) {
    this.tokens = new JsonTokens((s) => ring.string(s));
  }

  encode(event: TraceEvent, ts: number, tid: number): boolean {
    return this.shapes.get(event)(event, ts, tid);
  }

  /** The marker of lines that start with head (up to `"ts":`) and have args {} (key null) or
   *  { key: value }. */
  marker(head: string, key: string | null): Marker {
    const id = this.ring.shape({ head, keys: key === null ? [] : [key], types: key === null ? [] : ['n'] });
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

  private compile(kind: string, keys: string[], sample: TraceEvent): Encoder {
    const fields = keys.filter((key) => key !== 'kind');
    const types = fields.map((key) => fieldType((sample as unknown as Record<string, unknown>)[key]));
    if (!fields.every((key) => IDENTIFIER.test(key)) || types.includes(null)) return CANNOT;
    const id = this.ring.shape({ head: this.head(kind), keys: fields, types: types as FieldType[] });
    const checks = fields.map((key, i) => `typeof e.${key} !== '${TYPEOF[types[i]!]}'`);
    const json = types.includes('j');
    // A string field keeps the id of its last value: the same word again is one comparison.
    const state = fields.flatMap((_, i) => (types[i] === 's' ? [`let k${i} = null, id${i} = -1;`] : []));
    const values = fields.flatMap((key, i) => {
      if (types[i] === 's') {
        return [`if (e.${key} !== k${i}) { k${i} = e.${key}; id${i} = ring.string(k${i}); }`, `const v${i} = id${i}; if (v${i} < 0) return false;`];
      }
      if (types[i] === 'j') return [`const v${i} = tokens.add(e.${key}); if (v${i} < 0) return false;`];
      return [];
    });
    const stores = fields.map((key, i) => {
      const value = types[i] === 's' || types[i] === 'j' ? `v${i}` : types[i] === 'b' ? `(e.${key} ? 1 : 0)` : `e.${key}`;
      return `f[at + ${3 + i}] = ${value};`;
    });
    const slots = 3 + fields.length;
    const onTrack = this.track !== null && types[fields.indexOf('fd')] === 'n';
    const body = [
      checks.length > 0 ? `if (${checks.join(' || ')}) return false;` : '',
      onTrack ? 'if (e.fd >= 0) tid = track(e.fd, ts, e);' : '',
      json ? 'tokens.reset();' : '',
      ...values,
      `const at = ring.reserve(${slots}${json ? ' + tokens.length' : ''}); if (at < 0) return true;`,
      'const f = ring.f64;',
      `f[at] = ${FIRST_SHAPE + id}; f[at + 1] = ts; f[at + 2] = tid;`,
      ...stores,
      json ? `f.set(tokens.slots.subarray(0, tokens.length), at + ${slots});` : '',
      `ring.commit(at, ${slots}${json ? ' + tokens.length' : ''});`,
      'return true;',
    ].join('\n');
    const make = new Function('ring', 'tokens', 'track', `${state.join('\n')}\nreturn function (e, ts, tid) {\n${body}\n};`) as
      (ring: RingWriter, tokens: JsonTokens, track: EventEncoder['track']) => Encoder;
    return make(this.ring, this.tokens, this.track);
  }
}
