// The writer thread's lines as bytes: for each shape of record, a function compiled to store the
// line's constant bytes and its values' digits straight into the output buffer. No strings, so
// no garbage to collect and nothing to convert on the way to the file: about a third of what
// concatenating the line cost there. A JSON field's tokens (json-tokens.ts) are written the same
// way (putJson).
import { TOKEN } from './json-tokens.js';
import { lineParts } from './line-compiler.js';
import { jsonValue } from './line-format.js';
import type { ShapeDefinition } from './record-ring.js';

/** Writes the line of the record at slot `at` of f into out from p, with its separator first;
 *  returns where it ends. view is a DataView of out. */
export type BytesOfRecord = (out: Uint8Array, view: DataView, p: number, f: Float64Array, at: number) => number;

const ZERO = 48;
const DOT = 46;

/** Digits of v, an integer in [0, 2^31), at out[p]; returns the end. */
function putUint(out: Uint8Array, p: number, v: number): number {
  let digits = 1;
  for (let t = v; t >= 10; t = (t / 10) | 0) digits++;
  const end = p + digits;
  for (let i = end - 1; i >= p; i--) {
    const q = (v / 10) | 0;
    out[i] = ZERO + v - q * 10;
    v = q;
  }
  return end;
}

/** n digits of v (an integer below 10^n), zero-padded. */
function putPadded(out: Uint8Array, p: number, v: number, n: number): number {
  for (let i = p + n - 1; i >= p; i--) {
    const q = (v / 10) | 0;
    out[i] = ZERO + v - q * 10;
    v = q;
  }
  return p + n;
}

/** v as JSON (as jsonValue writes it) at out[p]; returns the end. */
export function putNumber(out: Uint8Array, p: number, v: number): number {
  if (v >= 0 && v < 2147483648 && (v | 0) === v) return putUint(out, p, v);
  const text = jsonValue(v);
  for (let i = 0; i < text.length; i++) out[p + i] = text.charCodeAt(i);
  return p + text.length;
}

/** ns as the µs of a `ts`, to the ns, as micros() writes it ("1234.567"). */
export function putMicros(out: Uint8Array, p: number, ns: number): number {
  const us = Math.floor(ns / 1000);
  const frac = ns - us * 1000;
  // µs since boot pass 2^31 after 36 minutes: print them in two halves.
  const high = Math.floor(us / 1e6);
  if (high > 0) {
    p = putNumber(out, p, high);
    p = putPadded(out, p, us - high * 1e6, 6);
  } else {
    p = putUint(out, p, us);
  }
  out[p] = DOT;
  return putPadded(out, p + 1, frac, 3);
}

/** bytes at out[p]; returns the end. */
export function putBytes(out: Uint8Array, p: number, bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; i++) out[p + i] = bytes[i]!;
  return p + bytes.length;
}

/** Generated stores of text's bytes at out[p...] (four at a time through the DataView `d` over
 *  the same memory), then p advanced past them. */
function storeCode(text: string): string {
  const bytes = Buffer.from(text, 'utf8');
  const stores: string[] = [];
  let i = 0;
  for (; i + 4 <= bytes.length; i += 4) stores.push(`d.setUint32(p + ${i}, ${bytes.readUInt32LE(i)}, true);`);
  for (; i < bytes.length; i++) stores.push(`b[p + ${i}] = ${bytes[i]};`);
  return `${stores.join(' ')} p += ${bytes.length};`;
}

const TRUE = Buffer.from('true');
const FALSE = Buffer.from('false');
const NULL = Buffer.from('null');
const BYTE = { open: 91, close: 93, openObject: 123, closeObject: 125, comma: 44, colon: 58 } as const;

/** After putJson: the slot after the tokens it read. */
export const jsonEnd = { at: 0 };

/** The JSON of the tokens (json-tokens.ts) at slot `at` of f, at out[p]; returns where it ends.
 *  quoted[id]: string id as JSON, in UTF-8. */
export function putJson(out: Uint8Array, p: number, f: Float64Array, at: number, quoted: Uint8Array[]): number {
  jsonEnd.at = at;
  return putValue(out, p, f, quoted);
}

function putValue(out: Uint8Array, p: number, f: Float64Array, quoted: Uint8Array[]): number {
  const token = f[jsonEnd.at++]!;
  switch (token) {
    case TOKEN.number:
      return putNumber(out, p, f[jsonEnd.at++]!);
    case TOKEN.string:
      return putBytes(out, p, quoted[f[jsonEnd.at++]!]!);
    case TOKEN.true:
      return putBytes(out, p, TRUE);
    case TOKEN.false:
      return putBytes(out, p, FALSE);
    case TOKEN.null:
      return putBytes(out, p, NULL);
    case TOKEN.numbers: {
      // Raw numbers, no token each: select's sets.
      const n = f[jsonEnd.at++]!;
      out[p++] = BYTE.open;
      for (let i = 0; i < n; i++) {
        if (i > 0) out[p++] = BYTE.comma;
        p = putNumber(out, p, f[jsonEnd.at++]!);
      }
      out[p++] = BYTE.close;
      return p;
    }
    case TOKEN.array: {
      const n = f[jsonEnd.at++]!;
      out[p++] = BYTE.open;
      for (let i = 0; i < n; i++) {
        if (i > 0) out[p++] = BYTE.comma;
        p = putValue(out, p, f, quoted);
      }
      out[p++] = BYTE.close;
      return p;
    }
    case TOKEN.object: {
      const n = f[jsonEnd.at++]!;
      out[p++] = BYTE.openObject;
      for (let i = 0; i < n; i++) {
        if (i > 0) out[p++] = BYTE.comma;
        p = putBytes(out, p, quoted[f[jsonEnd.at++]!]!);
        out[p++] = BYTE.colon;
        p = putValue(out, p, f, quoted);
      }
      out[p++] = BYTE.closeObject;
      return p;
    }
    default:
      throw new Error(`recording ring: unknown JSON token ${token}`);
  }
}

/** The writer of one shape's lines. quoted[id] is string id as JSON, in UTF-8. */
export function bytesOfRecord(definition: ShapeDefinition, pidTid: string, quoted: Uint8Array[]): BytesOfRecord {
  const [head, middle, ...args] = lineParts(definition.head, pidTid, definition.keys);
  const code = [
    // Where the next JSON field's tokens start: after the fields.
    `let t = at + ${3 + definition.keys.length};`,
    storeCode(`,\n${head}`),
    'p = putMicros(b, p, f[at + 1]);',
    storeCode(middle!),
    'p = putNumber(b, p, f[at + 2]);',
  ];
  args.forEach((part, i) => {
    code.push(storeCode(part));
    if (i === definition.types.length) return;
    const slot = `f[at + ${3 + i}]`;
    const type = definition.types[i];
    code.push(type === 's' ? `p = putBytes(b, p, quoted[${slot}]);`
      : type === 'b' ? `p = putBytes(b, p, ${slot} !== 0 ? TRUE : FALSE);`
      : type === 'j' ? `p = putJson(b, p, f, t, quoted); t += ${slot};`
      : `p = putNumber(b, p, ${slot});`);
  });
  const make = new Function('putMicros', 'putNumber', 'putBytes', 'putJson', 'quoted', 'TRUE', 'FALSE',
    `return function (b, d, p, f, at) {\n${code.join('\n')}\nreturn p;\n};`);
  return make(putMicros, putNumber, putBytes, putJson, quoted, TRUE, FALSE) as BytesOfRecord;
}
