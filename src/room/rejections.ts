// The answers to a frame the decoder rejected, encoded once per server.
import { ERR_LINE_TOO_LONG, type FrameError } from '../framing/line-decoder.js';
import { encodeLine } from '../framing/line-encoder.js';
import { INVALID_UTF8, lineTooLong } from './protocol.js';

/** Pre-encoded error frames for rejected lines; both services answer them the same way. */
export class Rejections {
  private readonly tooLong: Buffer;
  private readonly invalidUtf8 = encodeLine(INVALID_UTF8);

  constructor(maxLineBytes: number) {
    this.tooLong = encodeLine(lineTooLong(maxLineBytes));
  }

  /** The frame that answers a rejected line. */
  frameFor(code: FrameError): Buffer {
    return code === ERR_LINE_TOO_LONG ? this.tooLong : this.invalidUtf8;
  }
}
