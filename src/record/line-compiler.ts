// One trace line per event, fast: for each shape of event a function that concatenates the line's
// constant parts with the event's values (shape-table.ts). Any kind works.
import type { TraceEvent } from '../trace/events.js';
import { jsonValue } from './line-format.js';
import { IDENTIFIER, ShapeTable } from './shape-table.js';

/** Writes the line of one event: ts already formatted, tid its track. */
export type LineFunction = (event: TraceEvent, ts: string, tid: number) => string;

/** The constant parts of a line, around its variable ones: [head (up to and including `"ts":`),
 *  pidTid, then one part before each of the args' values and one after the last], so a line is
 *  head + ts + pidTid + tid + args[0] + value[0] + args[1] + ... + args[n]. */
export function lineParts(head: string, pidTid: string, keys: readonly string[]): string[] {
  if (keys.length === 0) return [head, pidTid, ',"args":{}}'];
  return [head, pidTid, ...keys.map((key, i) => `${i === 0 ? ',"args":{' : ','}${JSON.stringify(key)}:`), '}}'];
}

/** The JavaScript expression of a line (for generated code): the variables `ts` (formatted) and
 *  `tid` in its place, and the JSON of each key's value as its expression in values gives it. */
export function lineExpression(head: string, pidTid: string, keys: readonly string[], values: readonly string[]): string {
  const [first, middle, ...args] = lineParts(head, pidTid, keys).map((part) => JSON.stringify(part));
  return [`${first} + ts + ${middle} + tid`, ...args.map((part, i) => (i < values.length ? `${part} + ${values[i]}` : part))].join(' + ');
}

/** The JSON of number expression v (for generated code; `json` is jsonValue): a small integer
 *  as it is, without a call. */
export function numberJson(v: string): string {
  return `((${v} | 0) === ${v} ? ${v} : json(${v}))`;
}

export class LineCompiler {
  private readonly shapes = new ShapeTable<LineFunction>((kind, keys) => this.compile(kind, keys));

  /** head(kind) starts every line of that kind, up to and including `"ts":`; pidTid is
   *  `,"pid":P,"tid":`. */
  constructor(
    private readonly head: (kind: string) => string,
    private readonly pidTid: string,
  ) {}

  /** The line of event (without separator), its args being every field but kind. */
  line(event: TraceEvent, ts: string, tid: number): string {
    return this.shapes.get(event)(event, ts, tid);
  }

  private compile(kind: string, keys: string[]): LineFunction {
    const fields = keys.filter((key) => key !== 'kind');
    if (!fields.every((key) => IDENTIFIER.test(key))) return this.generic(kind);
    // Small integers (fds, byte counts) straight into the string; anything else through jsonValue.
    const values = fields.map((key) => `(typeof e.${key} === 'number' ? ${numberJson(`e.${key}`)} : json(e.${key}))`);
    const body = `return ${lineExpression(this.head(kind), this.pidTid, fields, values)};`;
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
