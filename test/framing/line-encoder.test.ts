import { describe, expect, it } from 'vitest';
import { LineDecoder } from '../../src/framing/line-decoder.js';
import { ERR_FRAME_NEWLINE, encodeLine } from '../../src/framing/line-encoder.js';
import { deliver } from './collect.js';

describe('encodeLine', () => {
  it('encodes a line as its UTF-8 bytes and one \\n', () => {
    expect(encodeLine('hé€😀')).toEqual(Buffer.from('hé€😀\n'));
    expect(encodeLine('')).toEqual(Buffer.from('\n'));
    expect(encodeLine('a\rb')).toEqual(Buffer.from('a\rb\n'));
  });

  it('refuses text that contains \\n, with a TypeError coded ERR_FRAME_NEWLINE', () => {
    for (const text of ['\n', 'a\nb', 'end\n', 'crlf\r\n']) {
      expect(() => encodeLine(text)).toThrow(expect.objectContaining({ name: 'TypeError', code: ERR_FRAME_NEWLINE }));
    }
  });

  it('writes a lone surrogate as U+FFFD, so the frame is always valid UTF-8', () => {
    expect(encodeLine('a\uD800b')).toEqual(Buffer.from('a\uFFFDb\n'));
  });

  it('round-trips through LineDecoder', () => {
    const texts = ['hello', '', 'é€😀', '\uFFFD', 'x'.repeat(5000)];
    const stream = Buffer.concat(texts.map(encodeLine));
    expect(deliver(new LineDecoder(), [stream])).toEqual(texts.map((line) => ({ line })));
  });
});
