import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ERR_INVALID_UTF8, ERR_LINE_TOO_LONG, LineDecoder } from '../../src/framing/line-decoder.js';
import { Collector, type Result, cut, deliver, every } from './collect.js';

/** One code point of any plane (4-byte ones included), plus the characters framing cares about. */
const character = fc
  .oneof(
    fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
    fc.constantFrom('a', '\r', 'é', '€', '😀', '\uFFFD', '\uFEFF', '\u0000'),
  )
  .filter((c) => c !== '\n');

const line = fc.string({ unit: character, maxLength: 40 });

/** Any way of cutting a stream into chunks: byte by byte, or at arbitrary (even repeated) positions. */
type CutPlan = 'bytes' | number[];
const cutPlan: fc.Arbitrary<CutPlan> = fc.oneof(
  { weight: 1, arbitrary: fc.constant('bytes' as const) },
  { weight: 5, arbitrary: fc.array(fc.nat(), { maxLength: 24 }) },
);

/** The chunks a plan cuts stream into. */
function chunksOf(stream: Uint8Array, plan: CutPlan): Uint8Array[] {
  if (plan === 'bytes') return every(stream, 1);
  return cut(stream, plan.map((seed) => seed % (stream.length + 1)).sort((a, b) => a - b));
}

/** Encodes lines, each ended by '\r\n' where crlf says so or its own last character is '\r', else '\n'. */
function frame(texts: string[], crlf: boolean[] = []): Buffer {
  return Buffer.from(texts.map((text, i) => text + (crlf[i] || text.endsWith('\r') ? '\r\n' : '\n')).join(''));
}

const RUNS = 10_000;

describe('LineDecoder properties', () => {
  it('yields exactly the original lines, in order, however their bytes are cut; reports the tail at EOF', () => {
    fc.assert(
      fc.property(fc.array(line.filter((text) => !text.endsWith('\r')), { maxLength: 12 }), line, cutPlan, (texts, tail, plan) => {
        const decoder = new LineDecoder();
        const tailBytes = Buffer.from(tail);
        const stream = Buffer.concat([frame(texts), tailBytes]);
        expect(deliver(decoder, chunksOf(stream, plan))).toEqual(texts.map((text) => ({ line: text })));
        expect(decoder.finish()).toBe(tailBytes.length);
      }),
      { numRuns: RUNS },
    );
  });

  it('yields the same lines whether each ends with \\n or \\r\\n', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(line, fc.boolean()), { maxLength: 12 }), cutPlan, (pairs, plan) => {
        const texts = pairs.map(([text]) => text);
        const stream = frame(texts, pairs.map(([, crlf]) => crlf));
        expect(deliver(new LineDecoder(), chunksOf(stream, plan))).toEqual(texts.map((text) => ({ line: text })));
      }),
      { numRuns: RUNS / 2 },
    );
  });

  it('yields exactly one too-long per over-long line, interleaved with the lines that fit', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 24 }),
        fc.array(fc.tuple(line, fc.boolean()), { maxLength: 12 }),
        cutPlan,
        (maxLineBytes, pairs, plan) => {
          const texts = pairs.map(([text]) => text);
          const stream = frame(texts, pairs.map(([, crlf]) => crlf));
          const expected: Result[] = texts.map((text) =>
            Buffer.byteLength(text) > maxLineBytes ? { reject: ERR_LINE_TOO_LONG } : { line: text },
          );
          const decoder = new LineDecoder({ maxLineBytes });
          expect(deliver(decoder, chunksOf(stream, plan))).toEqual(expected);
          expect(decoder.finish()).toBe(0);
        },
      ),
      { numRuns: RUNS / 2 },
    );
  });

  it('agrees with a strict TextDecoder on arbitrary bytes', () => {
    const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
    const fragment = fc.oneof(
      fc.uint8Array({ maxLength: 4 }),
      fc.constantFrom(
        ...['e2 82 ac', 'f0 9f 98 80', 'c3 a9', 'ef bf bd', 'ed a0 80', 'ed 9f bf', 'c0 af', 'f4 90 80 80', '0d'].map(
          (digits) => Buffer.from(digits.replace(/ /g, ''), 'hex'),
        ),
      ),
    );
    const rawLine = fc.array(fragment, { maxLength: 6 }).map((parts) => Buffer.concat(parts).map((b) => (b === 0x0a ? 0x20 : b)));
    fc.assert(
      fc.property(fc.array(rawLine, { maxLength: 8 }), cutPlan, (raws, plan) => {
        const expected: Result[] = raws.map((raw) => {
          const content = raw.length > 0 && raw[raw.length - 1] === 0x0d ? raw.subarray(0, -1) : raw;
          try {
            return { line: strict.decode(content) };
          } catch {
            return { reject: ERR_INVALID_UTF8 };
          }
        });
        const stream = Buffer.concat(raws.flatMap((raw) => [raw, Buffer.from('\n')]));
        expect(deliver(new LineDecoder(), chunksOf(stream, plan))).toEqual(expected);
      }),
      { numRuns: RUNS / 2 },
    );
  });
});

describe('LineDecoder with bytes: true (echo): the same verdicts as strict decoding', () => {
  it('passes exactly the valid lines on as bytes and rejects the rest, however the bytes are cut (lines checked one by one or together)', () => {
    const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
    const fragment = fc.oneof(
      { weight: 3, arbitrary: fc.constant(Buffer.from('x'.repeat(40))) },
      { weight: 2, arbitrary: fc.uint8Array({ maxLength: 4 }) },
      {
        weight: 2,
        arbitrary: fc.constantFrom(
          ...['e2 82 ac', 'f0 9f 98 80', 'c3 a9', 'ef bf bd', 'ed a0 80', 'c0 af', 'f4 90 80 80', '0d'].map((digits) =>
            Buffer.from(digits.replace(/ /g, ''), 'hex'),
          ),
        ),
      },
    );
    const rawLine = fc.array(fragment, { maxLength: 6 }).map((parts) => Buffer.concat(parts).map((b) => (b === 0x0a ? 0x20 : b)));
    const valid = (content: Uint8Array): boolean => {
      try {
        strict.decode(content);
        return true;
      } catch {
        return false;
      }
    };
    fc.assert(
      fc.property(fc.array(rawLine, { maxLength: 30 }), cutPlan, (raws, plan) => {
        const expected: Result[] = raws.map((raw) => {
          const content = raw.length > 0 && raw[raw.length - 1] === 0x0d ? raw.subarray(0, -1) : raw;
          return valid(content) ? { line: Buffer.from(content).toString('latin1') } : { reject: ERR_INVALID_UTF8 };
        });
        const stream = Buffer.concat(raws.flatMap((raw) => [raw, Buffer.from('\n')]));
        const sink = new Collector();
        const asBytes = Object.assign(sink, {
          lineBytes: (bytes: Buffer, start: number, end: number) => sink.results.push({ line: bytes.toString('latin1', start, end) }),
        });
        expect(deliver(new LineDecoder({ bytes: true }), chunksOf(stream, plan), asBytes)).toEqual(expected);
      }),
      { numRuns: RUNS / 2 },
    );
  });
});

describe('LineDecoder stop() and resume(): backpressure loses and reorders nothing', () => {
  it('stopping after any results and resuming later yields the same results as never stopping', () => {
    fc.assert(
      fc.property(
        fc.array(line, { maxLength: 12 }),
        cutPlan,
        fc.array(fc.boolean(), { maxLength: 40 }),
        fc.integer({ min: 0, max: 12 }),
        (texts, plan, stops, maxLineBytes) => {
          const stream = frame(texts);
          const expected = deliver(new LineDecoder({ maxLineBytes }), chunksOf(stream, plan));
          const decoder = new LineDecoder({ maxLineBytes });
          const results: Result[] = [];
          let call = 0;
          // A sink that stops the decoder whenever the plan says so, as a paused connection does.
          const sink = {
            line: (text: string): void => void (results.push({ line: text }), stops[call++ % Math.max(1, stops.length)] && decoder.stop()),
            reject: (code: 'ERR_LINE_TOO_LONG' | 'ERR_INVALID_UTF8'): void => void (results.push({ reject: code }), stops[call++ % Math.max(1, stops.length)] && decoder.stop()),
          };
          const receive = Buffer.alloc(stream.length + 1);
          for (const chunk of chunksOf(stream, plan)) {
            // The transport resumes (and drains the backlog) before it reads again.
            while (decoder.stoppedOrBacklogged) decoder.resume(sink);
            receive.set(chunk);
            decoder.push(receive, 0, chunk.length, sink);
            receive.fill(0x0a);
          }
          while (decoder.stoppedOrBacklogged) decoder.resume(sink);
          expect(results).toEqual(expected);
        },
      ),
      { numRuns: RUNS },
    );
  });
});
