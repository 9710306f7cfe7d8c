// Echo mode: every complete line comes back as itself; nothing else is ever sent but errors.
import type { FrameError } from '../framing/line-decoder.js';
import { encodeLine } from '../framing/line-encoder.js';
import { Rejections } from './rejections.js';
import type { Peer, Service, Session } from './service.js';

class EchoSession implements Session {
  constructor(
    private readonly peer: Peer,
    private readonly rejections: Rejections,
  ) {}

  line(text: string): void {
    this.peer.send(encodeLine(text));
  }

  /** The line as it came (checked UTF-8, a stripped '\r' still stripped): no string in between. */
  lineBytes(bytes: Buffer, start: number, end: number): void {
    this.peer.sendLine(bytes, start, end);
  }

  reject(code: FrameError): void {
    this.peer.send(this.rejections.frameFor(code));
  }

  closed(): void {}
}

export class EchoService implements Service {
  readonly mode = 'echo' as const;
  readonly linesAsBytes = true;
  private readonly rejections: Rejections;

  constructor(options: { maxLineBytes: number }) {
    this.rejections = new Rejections(options.maxLineBytes);
  }

  open(peer: Peer): Session {
    return new EchoSession(peer, this.rejections);
  }

  shutdown(): void {}
}
