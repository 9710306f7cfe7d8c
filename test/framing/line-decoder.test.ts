import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_LINE_BYTES,
  ERR_INVALID_UTF8,
  ERR_LINE_TOO_LONG,
  LineDecoder,
} from '../../src/framing/line-decoder.js';
import { Collector, cut, deliver, every, lines } from './collect.js';

const bytes = (text: string): Buffer => Buffer.from(text, 'utf8');
const hex = (digits: string): Buffer => Buffer.from(digits.replace(/ /g, ''), 'hex');
const tooLong = { reject: ERR_LINE_TOO_LONG };
const invalid = { reject: ERR_INVALID_UTF8 };

describe('LineDecoder: the three failures of a raw recv() loop', () => {
  it('splits two messages merged into one recv()', () => {
    const decoder = new LineDecoder();
    const sink = new Collector();
    expect(decoder.push(bytes('hello\nworld\n'), 0, 12, sink)).toBe(2);
    expect(sink.results).toEqual(lines('hello', 'world'));
    expect(decoder.pendingBytes).toBe(0);
  });

  it('joins a message split over several 1024-byte recv()s into one line', () => {
    const message = 'x'.repeat(3000);
    const decoder = new LineDecoder();
    const sink = new Collector();
    const counts = every(bytes(`${message}\nnext\n`), 1024).map((chunk) => decoder.push(chunk, 0, chunk.length, sink));
    expect(counts).toEqual([0, 0, 2]);
    expect(sink.results).toEqual(lines(message, 'next'));
  });

  it('keeps a multibyte character split across two recv()s intact, at every cut', () => {
    const text = 'é€😀';
    const encoded = bytes(`${text}\n`);
    for (let at = 0; at <= encoded.length; at++) {
      expect(deliver(new LineDecoder(), cut(encoded, [at]))).toEqual(lines(text));
    }
  });

  it('holds an unfinished line across recv()s without decoding it', () => {
    const decoder = new LineDecoder();
    const sink = new Collector();
    expect(decoder.push(hex('f0 9f'), 0, 2, sink)).toBe(0);
    expect(decoder.pendingBytes).toBe(2);
    expect(decoder.push(hex('98 80 0a'), 0, 3, sink)).toBe(1);
    expect(sink.results).toEqual(lines('😀'));
    expect(decoder.pendingBytes).toBe(0);
  });
});

describe('LineDecoder: chunks are views of a reused buffer', () => {
  it('copies what it keeps: overwriting the source after push changes no line', () => {
    const decoder = new LineDecoder();
    const sink = new Collector();
    const receive = Buffer.alloc(16);
    for (const part of ['abc\nde', 'f€', 'g\n']) {
      const n = receive.write(part);
      decoder.push(receive, 0, n, sink);
      receive.fill(0xff);
    }
    expect(sink.results).toEqual(lines('abc', 'def€g'));
  });

  it('reads only [start, end): stale newlines past end are not lines', () => {
    const decoder = new LineDecoder();
    const sink = new Collector();
    const receive = bytes('\n\nab\n\n\n');
    expect(decoder.push(receive, 2, 4, sink)).toBe(0);
    expect(decoder.push(receive, 4, 5, sink)).toBe(1);
    expect(sink.results).toEqual(lines('ab'));
  });

  it('accepts a plain Uint8Array and an empty range', () => {
    const decoder = new LineDecoder();
    const sink = new Collector();
    const chunk = new Uint8Array(bytes('one\ntwo'));
    expect(decoder.push(chunk, 0, 0, sink)).toBe(0);
    expect(decoder.push(chunk, 0, chunk.length, sink)).toBe(1);
    expect(decoder.push(new Uint8Array([0x0a]), 0, 1, sink)).toBe(1);
    expect(sink.results).toEqual(lines('one', 'two'));
  });

  it('refuses a range outside the chunk', () => {
    const decoder = new LineDecoder();
    const sink = new Collector();
    expect(() => decoder.push(bytes('ab'), 0, 3, sink)).toThrow(RangeError);
    expect(() => decoder.push(bytes('ab'), -1, 1, sink)).toThrow(RangeError);
    expect(() => decoder.push(bytes('ab'), 2, 1, sink)).toThrow(RangeError);
  });
});

describe('LineDecoder: line ends', () => {
  it('strips the \\r of \\r\\n, so nc -C and telnet are clients', () => {
    expect(deliver(new LineDecoder(), [bytes('a\r\nb\r\n\r\n')])).toEqual(lines('a', 'b', ''));
  });

  it('strips a \\r that ends one chunk when the \\n starts the next', () => {
    expect(deliver(new LineDecoder(), [bytes('ab\r'), bytes('\ncd\r'), bytes('\n')])).toEqual(lines('ab', 'cd'));
    expect(deliver(new LineDecoder(), [bytes('\r'), bytes('\n')])).toEqual(lines(''));
  });

  it('keeps a lone \\r as a byte of the line', () => {
    expect(deliver(new LineDecoder(), [bytes('a\rb\n\r\r\n\r'), bytes('x\n')])).toEqual(lines('a\rb', '\r', '\rx'));
  });

  it('yields empty lines', () => {
    expect(deliver(new LineDecoder(), [bytes('\n\n'), bytes('\n')])).toEqual(lines('', '', ''));
  });
});

describe('LineDecoder: maxLineBytes', () => {
  const max = 16;
  const exact = 'x'.repeat(max);
  const over = 'x'.repeat(max + 1);

  it('defaults to 65536 and refuses a limit that is not a non-negative integer', () => {
    expect(new LineDecoder().maxLineBytes).toBe(DEFAULT_MAX_LINE_BYTES);
    expect(DEFAULT_MAX_LINE_BYTES).toBe(65536);
    expect(new LineDecoder({ maxLineBytes: 0 }).maxLineBytes).toBe(0);
    for (const maxLineBytes of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new LineDecoder({ maxLineBytes })).toThrow(RangeError);
    }
  });

  it('accepts a line of exactly the limit and rejects one byte over, whole or byte by byte', () => {
    const stream = bytes(`${exact}\n${over}\n${exact}\r\n${over}\r\nok\n`);
    const expected = [{ line: exact }, tooLong, { line: exact }, tooLong, { line: 'ok' }];
    expect(deliver(new LineDecoder({ maxLineBytes: max }), [stream])).toEqual(expected);
    expect(deliver(new LineDecoder({ maxLineBytes: max }), every(stream, 1))).toEqual(expected);
    expect(deliver(new LineDecoder({ maxLineBytes: max }), every(stream, 5))).toEqual(expected);
  });

  it('applies the default limit at 65536 bytes of content, in 1460-byte and 1-byte chunks', () => {
    const atLimit = 'é'.repeat(DEFAULT_MAX_LINE_BYTES / 2);
    const stream = bytes(`${atLimit}\r\n${atLimit}x\n`);
    expect(deliver(new LineDecoder(), every(stream, 1460))).toEqual([{ line: atLimit }, tooLong]);
    expect(deliver(new LineDecoder(), every(stream, 1))).toEqual([{ line: atLimit }, tooLong]);
  });

  it('counts a multibyte line in bytes, not characters', () => {
    const decoder = new LineDecoder({ maxLineBytes: 4 });
    expect(deliver(decoder, [bytes('€€\n€x\n')])).toEqual([tooLong, { line: '€x' }]);
  });

  it('rejects as soon as the limit is passed, before any newline, and only once', () => {
    const decoder = new LineDecoder({ maxLineBytes: max });
    const sink = new Collector();
    expect(decoder.push(bytes(exact), 0, max, sink)).toBe(0);
    expect(decoder.pendingBytes).toBe(max);
    expect(decoder.push(bytes('y'), 0, 1, sink)).toBe(1);
    expect(sink.results).toEqual([tooLong]);
    expect(decoder.pendingBytes).toBe(0);
    expect(decoder.push(bytes(over), 0, max + 1, sink)).toBe(0);
    expect(decoder.push(bytes('tail\nnext\n'), 0, 10, sink)).toBe(1);
    expect(sink.results).toEqual([tooLong, { line: 'next' }]);
  });

  it('waits on a \\r after exactly the limit: it may be the \\r of \\r\\n', () => {
    const decoder = new LineDecoder({ maxLineBytes: max });
    const sink = new Collector();
    expect(decoder.push(bytes(`${exact}\r`), 0, max + 1, sink)).toBe(0);
    expect(decoder.push(bytes('\n'), 0, 1, sink)).toBe(1);
    expect(decoder.push(bytes(`${exact}\r`), 0, max + 1, sink)).toBe(0);
    expect(decoder.push(bytes('z'), 0, 1, sink)).toBe(1);
    expect(decoder.push(bytes('\n'), 0, 1, sink)).toBe(0);
    expect(decoder.push(bytes(`${exact}\r`), 0, max + 1, sink)).toBe(0);
    expect(decoder.push(bytes('z\n'), 0, 2, sink)).toBe(1);
    expect(sink.results).toEqual([{ line: exact }, tooLong, tooLong]);
  });

  it('rejects an over-long line found whole in one chunk, then goes on in the same chunk', () => {
    const decoder = new LineDecoder({ maxLineBytes: max });
    expect(deliver(decoder, [bytes(`a\n${over}\nb\n`)])).toEqual([{ line: 'a' }, tooLong, { line: 'b' }]);
  });

  it('discards a flood without a newline in constant memory, then recovers', () => {
    const decoder = new LineDecoder({ maxLineBytes: 1024 });
    const sink = new Collector();
    const receive = Buffer.alloc(1 << 20, 'a');
    let results = 0;
    for (let i = 0; i < 64; i++) {
      results += decoder.push(receive, 0, receive.length, sink);
      expect(decoder.pendingBytes).toBe(0);
    }
    expect(results).toBe(1);
    receive.write('aaa\nafter\n');
    expect(decoder.push(receive, 0, 10, sink)).toBe(1);
    expect(sink.results).toEqual([tooLong, { line: 'after' }]);
  });
});

describe('LineDecoder: strict UTF-8', () => {
  const cases: Array<[string, string]> = [
    ['overlong 2-byte "/"', 'c0 af'],
    ['overlong 3-byte "/"', 'e0 80 af'],
    ['overlong 4-byte "/"', 'f0 80 80 af'],
    ['overlong NUL (modified UTF-8)', 'c0 80'],
    ['lone high surrogate (CESU) ED A0 80', 'ed a0 80'],
    ['lone low surrogate ED B0 80', 'ed b0 80'],
    ['CESU-8 surrogate pair for U+1F600', 'ed a0 bd ed b8 80'],
    ['truncated 2-byte sequence', 'c3'],
    ['truncated 3-byte sequence', 'e2 82'],
    ['truncated 4-byte sequence', 'f0 9f 98'],
    ['truncated sequence before ASCII', 'e2 82 41'],
    ['lone continuation byte', '80'],
    ['code point above U+10FFFF', 'f4 90 80 80'],
    ['byte F5', 'f5 80 80 80'],
    ['byte FF', 'ff'],
  ];

  it.each(cases)('rejects %s, and the next line is unaffected', (_name, digits) => {
    const line = Buffer.concat([bytes('ok '), hex(digits), bytes(' ok')]);
    const stream = Buffer.concat([line, bytes('\nnext\n')]);
    expect(deliver(new LineDecoder(), [stream])).toEqual([invalid, { line: 'next' }]);
    expect(deliver(new LineDecoder(), every(stream, 1))).toEqual([invalid, { line: 'next' }]);
  });

  it('accepts a genuine U+FFFD and keeps a byte order mark', () => {
    const stream = bytes('\uFFFD\n\uFEFFa\uFFFD\n');
    expect(deliver(new LineDecoder(), [stream])).toEqual(lines('\uFFFD', '\uFEFFa\uFFFD'));
    expect(deliver(new LineDecoder(), every(stream, 2))).toEqual(lines('\uFFFD', '\uFEFFa\uFFFD'));
  });

  it('checks the limit before UTF-8: an over-long invalid line is too long', () => {
    expect(deliver(new LineDecoder({ maxLineBytes: 2 }), [hex('ff ff ff 0a')])).toEqual([tooLong]);
  });
});

describe('LineDecoder: end of stream', () => {
  it('reports the unterminated partial line and resets', () => {
    const decoder = new LineDecoder();
    deliver(decoder, [bytes('done\npart€')]);
    expect(decoder.pendingBytes).toBe(7);
    expect(decoder.finish()).toBe(7);
    expect(decoder.pendingBytes).toBe(0);
    expect(decoder.finish()).toBe(0);
    expect(deliver(decoder, [bytes('fresh\n')])).toEqual(lines('fresh'));
  });

  it('reports 0 at a line boundary and while discarding, and stops discarding', () => {
    const decoder = new LineDecoder({ maxLineBytes: 2 });
    deliver(decoder, [bytes('ab\n')]);
    expect(decoder.finish()).toBe(0);
    expect(deliver(decoder, [bytes('abcdef')])).toEqual([tooLong]);
    expect(decoder.finish()).toBe(0);
    expect(deliver(decoder, [bytes('ab\n')])).toEqual(lines('ab'));
  });
});

describe('LineDecoder: stop() from the sink, resume() later', () => {
  it('keeps the rest of the chunk as a backlog (a copy), holds back what is pushed meanwhile, then delivers it all in order', () => {
    const decoder = new LineDecoder();
    const results: string[] = [];
    const stopping = { line: (text: string) => (results.push(text), decoder.stop()), reject: () => {} };
    const receive = Buffer.from('one\ntwo\nthree\nfour');
    expect(decoder.push(receive, 0, receive.length, stopping)).toBe(1);
    expect(results).toEqual(['one']);
    expect(decoder.backlogBytes).toBe('two\nthree\nfour'.length);
    receive.fill(0x0a);
    receive.write('\nfive\n');
    expect(decoder.push(receive, 0, 6, stopping)).toBe(0);
    expect(results).toEqual(['one']);
    receive.fill(0x0a);
    const sink = new Collector();
    expect(decoder.resume(sink)).toBe(4);
    expect(sink.results).toEqual(lines('two', 'three', 'four', 'five'));
    expect(decoder.backlogBytes).toBe(0);
    expect(decoder.pendingBytes).toBe(0);
    expect(decoder.stoppedOrBacklogged).toBe(false);
  });

  it('finish() drops the backlog with the unfinished line', () => {
    const decoder = new LineDecoder();
    const stopping = { line: () => decoder.stop(), reject: () => {} };
    decoder.push(bytes('a\nb\nc'), 0, 5, stopping);
    expect(decoder.finish()).toBe(0);
    expect(decoder.stoppedOrBacklogged).toBe(false);
    expect(decoder.backlogBytes).toBe(0);
  });
});
