// The recording's two halves meet in numbers: what the loop's thread stores (JSON tokens, field
// values) must come out of the writer thread as the very text the slow path would have written.
// Pure: no thread, no file.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JsonTokens, MAX_JSON_BYTES } from '../../src/record/json-tokens.js';
import { jsonEnd, putJson, putMicros, putNumber } from '../../src/record/line-bytes.js';
import { jsonValue, micros } from '../../src/record/line-format.js';

/** Tokens of value with a string table of its own, then the JSON the writer makes of them. */
function roundTrip(value: unknown): string | null {
  const ids = new Map<string, number>();
  const quoted: Uint8Array[] = [];
  const tokens = new JsonTokens((s) => {
    let id = ids.get(s);
    if (id === undefined) {
      id = ids.size;
      ids.set(s, id);
      quoted[id] = Buffer.from(JSON.stringify(s));
    }
    return id;
  });
  tokens.reset();
  const count = tokens.add(value);
  if (count < 0) return null;
  const out = Buffer.alloc(2 * MAX_JSON_BYTES);
  const end = putJson(out, 0, tokens.slots, 0, quoted);
  expect(jsonEnd.at).toBe(count);
  return out.toString('utf8', 0, end);
}

describe('JSON tokens', () => {
  it('give back what JSON.stringify writes, for any JSON value of integers', () => {
    const json = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.integer(),
        fc.string({ unit: 'grapheme' }),
        fc.boolean(),
        fc.constant(null),
        fc.array(fc.integer()),
        fc.array(tie('value')),
        fc.dictionary(fc.string(), tie('value')),
      ),
    })).value;
    fc.assert(fc.property(json, (value) => {
      expect(roundTrip(value)).toBe(JSON.stringify(value));
    }), { numRuns: 500 });
  });

  it('write the calls the backends describe', () => {
    const calls = [
      { backend: 'select', nfds: 120, read: [14, 18, 20], write: [], timeoutMs: -1 },
      { backend: 'poll', fds: [[14, 1], [18, 1], [19, 3]], timeoutMs: 10 },
      { backend: 'epoll', ready: [[19, 5]] },
    ];
    for (const call of calls) expect(roundTrip(call)).toBe(JSON.stringify(call));
  });

  it('leave out undefined as JSON.stringify does, and round other numbers as the slow path', () => {
    expect(roundTrip({ a: undefined, b: [1, undefined] })).toBe('{"b":[1,null]}');
    expect(roundTrip({ ms: 0.1234567, n: NaN })).toBe(`{"ms":${jsonValue(0.1234567)},"n":null}`);
  });

  it('refuse what is too deep or too long (the recorder writes it as a line)', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 40; i++) deep = [deep, 'x'];
    expect(roundTrip(deep)).toBeNull();
    expect(roundTrip({ read: Array.from({ length: MAX_JSON_BYTES }, (_, i) => i) })).toBeNull();
    expect(roundTrip(() => 1)).toBeNull();
  });
});

describe('numbers as bytes', () => {
  const text = (write: (out: Uint8Array, p: number) => number): string => {
    const out = Buffer.alloc(64);
    return out.toString('latin1', 0, write(out, 0));
  };

  it('putNumber writes what jsonValue writes', () => {
    fc.assert(fc.property(fc.oneof(fc.integer(), fc.double(), fc.nat({ max: 2 ** 53 })), (v) => {
      expect(text((out, p) => putNumber(out, p, v))).toBe(jsonValue(v));
    }), { numRuns: 2000 });
  });

  it('putMicros writes what micros writes', () => {
    fc.assert(fc.property(fc.nat({ max: 2 ** 53 - 1 }), (ns) => {
      expect(text((out, p) => putMicros(out, p, ns))).toBe(micros(ns));
    }), { numRuns: 2000 });
  });
});
