// One trace line per event, fast: for each shape of event (its kind and its keys, in order) a
// function that concatenates the line's constant parts with the event's values is compiled the
// first time that shape is seen. Any kind works; the loop reports a handful of shapes, so a
// handful get compiled. (A generic walk over the fields — for-in and a key cache — cost ~40 %
// more per line here, a writer thread fed through a Float64Array more still: its postMessage.)
import type { TraceEvent } from '../trace/events.js';
import { jsonValue } from './line-format.js';

/** Writes the line of one event: ts already formatted, tid its track. */
export type LineFunction = (event: TraceEvent, ts: string, tid: number) => string;

/** A key that can be written as `e.key` in generated code. */
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

interface Compiled {
  /** Object.keys of such an event, kind included. */
  keys: string[];
  write: LineFunction;
}

export class LineCompiler {
  private readonly byKind = new Map<string, Compiled[]>();

  /** head(kind) starts every line of that kind, up to and including `"ts":`; pidTid is
   *  `,"pid":P,"tid":`. */
  constructor(
    private readonly head: (kind: string) => string,
    private readonly pidTid: string,
  ) {}

  /** The line of event (without separator), its args being every field but kind. */
  line(event: TraceEvent, ts: string, tid: number): string {
    const keys = Object.keys(event);
    let shapes = this.byKind.get(event.kind);
    if (shapes === undefined) {
      shapes = [];
      this.byKind.set(event.kind, shapes);
    }
    for (let i = 0; i < shapes.length; i++) {
      const shape = shapes[i]!;
      if (sameKeys(shape.keys, keys)) return shape.write(event, ts, tid);
    }
    const compiled = { keys, write: this.compile(event.kind, keys) };
    shapes.push(compiled);
    return compiled.write(event, ts, tid);
  }

  private compile(kind: string, keys: string[]): LineFunction {
    const fields = keys.filter((key) => key !== 'kind');
    if (!fields.every((key) => IDENTIFIER.test(key))) return this.generic(kind);
    const lit = (text: string): string => JSON.stringify(text);
    const parts = fields.map((key, i) => {
      const value = `e.${key}`;
      // Small integers (fds, byte counts) straight into the string; anything else through jsonValue.
      const json = `(typeof ${value} === 'number' && (${value} | 0) === ${value} ? ${value} : json(${value}))`;
      return `${lit(`${i > 0 ? ',' : ''}${JSON.stringify(key)}:`)} + ${json}`;
    });
    const args = parts.length > 0 ? `${parts.join(' + ')} + ` : '';
    const body = `return ${lit(this.head(kind))} + ts + ${lit(this.pidTid)} + tid + ${lit(',"args":{')} + ${args}'}}';`;
    const make = new Function('json', `return function (e, ts, tid) { ${body} };`) as (json: (v: unknown) => string) => LineFunction;
    return make(jsonValue);
  }

  /** For keys that are not identifiers: a walk over the fields. */
  private generic(kind: string): LineFunction {
    const head = this.head(kind);
    return (event, ts, tid) => {
      const args: string[] = [];
      for (const [key, value] of Object.entries(event)) {
        if (key !== 'kind' && value !== undefined) args.push(`${JSON.stringify(key)}:${jsonValue(value)}`);
      }
      return `${head}${ts}${this.pidTid}${tid},"args":{${args.join(',')}}}`;
    };
  }
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
