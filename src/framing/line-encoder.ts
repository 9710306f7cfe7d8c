// framing — the wire format. A frame is one line of UTF-8 text ended by '\n'; a '\r' right before
// the '\n' is dropped (so `nc -C` and telnet are clients), a lone '\r' is a byte of the line.
// LineDecoder (line-decoder.ts) is one socket's receive buffer; encodeLine is its inverse: a line
// is encoded once, and the same Buffer is sent to every recipient of a broadcast.

export const ERR_FRAME_NEWLINE = 'ERR_FRAME_NEWLINE';

const LF = 0x0a;

/** Encodes one outgoing line as UTF-8 bytes + '\n', once; throws TypeError with code ERR_FRAME_NEWLINE if text contains '\n'. */
export function encodeLine(text: string): Buffer {
  if (text.includes('\n')) {
    throw Object.assign(new TypeError('a frame is one line: the text must not contain "\\n"'), { code: ERR_FRAME_NEWLINE });
  }
  // Sized exactly, then written in place: no intermediate string with the '\n' appended.
  // A lone surrogate is written as U+FFFD (EF BF BD), so the frame is always valid UTF-8.
  const length = Buffer.byteLength(text, 'utf8');
  const frame = Buffer.allocUnsafe(length + 1);
  frame.write(text, 0, length, 'utf8');
  frame[length] = LF;
  return frame;
}
