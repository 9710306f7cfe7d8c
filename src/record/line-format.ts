// The text of trace lines, shared by the recorder (lines with JSON args, a few per round) and
// its writer thread (every other line).

/** ns as the µs of a `ts`, to the ns ("1234.567"): integer arithmetic, twice as fast as
 *  printing the float. */
export function micros(ns: number): string {
  const us = Math.floor(ns / 1000);
  const frac = ns - us * 1000;
  return `${us}${frac < 10 ? '.00' : frac < 100 ? '.0' : '.'}${frac}`;
}

/** A value as JSON: integers as they are, other numbers with at most 6 decimals, NaN and
 *  infinities as null, anything else through JSON.stringify. */
export function jsonValue(value: unknown): string {
  if (typeof value === 'number') {
    if (Number.isInteger(value)) return String(value);
    return Number.isFinite(value) ? String(Math.round(value * 1e6) / 1e6) : 'null';
  }
  return value === undefined ? 'null' : JSON.stringify(value);
}

/** An event's fields but kind, as a JSON object. */
export function argsJson(event: object): string {
  const args: string[] = [];
  for (const [key, value] of Object.entries(event)) {
    if (key !== 'kind' && value !== undefined) args.push(`${JSON.stringify(key)}:${jsonValue(value)}`);
  }
  return `{${args.join(',')}}`;
}

/** `,"pid":P,"tid":` */
export function pidTid(pid: number): string {
  return `,"pid":${pid},"tid":`;
}

/** The start of a line, up to and including `"ts":` (`s: 't'` for instants). */
export function lineHead(ph: string, name: string, cat: string): string {
  const scope = ph === 'i' ? '"s":"t",' : '';
  return `{"ph":"${ph}",${scope}"name":${JSON.stringify(name)},"cat":${JSON.stringify(cat)},"ts":`;
}

/** A whole line: `{"ph":…,"name":…,"cat":…,"ts":…,"pid":…,"tid":…,"args":…}`. args is JSON
 *  already. */
export function lineText(ph: string, name: string, cat: string, ns: number, pid: number, tid: number, args: string): string {
  return `${lineHead(ph, name, cat)}${micros(ns)}${pidTid(pid)}${tid},"args":${args}}`;
}

/** The start of an event's instant line: its kind is its name and its category. */
export function instantHead(kind: string): string {
  return lineHead('i', kind, kind);
}
