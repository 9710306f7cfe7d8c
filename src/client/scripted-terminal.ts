// Scripted mode (stdin is not a terminal): every stdin line is sent as a frame, every received
// line goes to stdout exactly as received, and nothing else does. At the end of stdin the client
// waits until everything is sent and the server has been quiet for --linger ms, then says /quit.
import { type FrameError, LineDecoder, type LineSink } from '../framing/line-decoder.js';
import { encodeLine } from '../framing/line-encoder.js';
import {
  QUIT_WAIT_MS,
  incomingLimit,
  isQuit,
  lossMessage,
  type ClientTransport,
  type Terminal,
} from './client-transport.js';
import { printable } from './printable.js';

/** Unsent bytes past which stdin is paused until the socket drains: memory stays bounded. */
const INPUT_HIGH_WATER_BYTES = 1024 * 1024;
const NEWLINE = Buffer.from('\n');

export interface ScriptedOptions {
  /** Longest line sent; longer stdin lines are refused locally. */
  maxLineBytes: number;
  /** Quiet time after the end of stdin before /quit (ms). */
  lingerMs: number;
}

export class ScriptedTerminal implements Terminal {
  readonly exitCode: Promise<number>;
  private exit!: (code: number) => void;
  private transport: ClientTransport | null = null;
  /** Splits stdin into lines with the protocol's own rules (CRLF, UTF-8, the length limit). */
  private readonly input: LineDecoder;
  private readonly inputSink: LineSink;
  /** stdout is a terminal (stdin is not): print what arrives with its controls made inert. */
  private readonly onTerminal = process.stdout.isTTY === true;
  private inputLines = 0;
  private inputEnded = false;
  private quitting = false;
  private finished = false;
  /** Armed once stdin has ended and all is sent; every received line restarts it. */
  private lingerTimer: NodeJS.Timeout | null = null;
  private quitTimer: NodeJS.Timeout | null = null;

  constructor(private readonly options: ScriptedOptions) {
    this.exitCode = new Promise((resolve) => (this.exit = resolve));
    this.input = new LineDecoder({ maxLineBytes: options.maxLineBytes });
    this.inputSink = { line: (text) => this.typed(text), reject: (code) => this.refused(code) };
    // stdout closed under us (`| head -1`, EPIPE): the session is over, quietly.
    process.stdout.on('error', () => this.finish(0));
  }

  start(transport: ClientTransport): void {
    if (this.finished) return;
    this.transport = transport;
    process.stdin.on('data', (chunk: Buffer) => this.input.push(chunk, 0, chunk.length, this.inputSink));
    process.stdin.on('end', () => this.inputEnd());
  }

  /** A line from the server: to stdout as it is, unless stdout is a terminal that its control
   *  characters could drive. */
  line(text: string): void {
    process.stdout.write(`${this.onTerminal ? printable(text) : text}\n`);
    this.lingerTimer?.refresh();
  }

  /** A line from the server we cannot take (over --max-line + slack, or invalid UTF-8). */
  reject(code: FrameError): void {
    const what = code === 'ERR_LINE_TOO_LONG' ? `longer than ${incomingLimit(this.options.maxLineBytes)} bytes` : 'not valid UTF-8';
    process.stderr.write(`selectchat: a line from the server was ${what}: dropped\n`);
  }

  drained(): void {
    if (process.stdin.isPaused() && !this.quitting) process.stdin.resume();
    this.lingerIfDone();
  }

  closed(error: Error | null): void {
    if (this.quitting) return this.finish(0);
    process.stderr.write(`selectchat: ${lossMessage(error)}\n`);
    this.finish(1);
  }

  /** One stdin line: send it (a /quit ends the session, as it does interactively). */
  private typed(text: string): void {
    this.inputLines++;
    if (this.quitting) return;
    if (isQuit(text)) return this.quit(text);
    const transport = this.transport!;
    transport.send(encodeLine(text));
    if (transport.unsentBytes > INPUT_HIGH_WATER_BYTES) process.stdin.pause();
  }

  /** A stdin line the decoder refused: say which, send nothing, go on. */
  private refused(code: FrameError): void {
    this.inputLines++;
    const why = code === 'ERR_LINE_TOO_LONG' ? `is longer than --max-line ${this.options.maxLineBytes} bytes` : 'is not valid UTF-8';
    process.stderr.write(`selectchat: line ${this.inputLines} of stdin ${why}: not sent\n`);
  }

  /** End of stdin: a last line without '\n' still counts; then linger. */
  private inputEnd(): void {
    if (this.input.pendingBytes > 0) this.input.push(NEWLINE, 0, 1, this.inputSink);
    this.inputEnded = true;
    this.lingerIfDone();
  }

  /** Stdin ended and everything is sent: /quit once the server has been quiet for --linger ms. */
  private lingerIfDone(): void {
    if (!this.inputEnded || this.quitting || this.finished || this.transport!.unsentBytes > 0) return;
    if (this.lingerTimer) this.lingerTimer.refresh();
    else this.lingerTimer = setTimeout(() => this.quit('/quit'), this.options.lingerMs);
  }

  /** Sends the /quit line, half-closes, and waits (bounded) for the server to close. */
  private quit(text: string): void {
    this.quitting = true;
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    process.stdin.pause();
    const transport = this.transport!;
    transport.send(encodeLine(text));
    transport.end();
    this.quitTimer = setTimeout(() => this.finish(0), QUIT_WAIT_MS);
  }

  private finish(code: number): void {
    if (this.finished) return;
    this.finished = true;
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    if (this.quitTimer) clearTimeout(this.quitTimer);
    this.transport?.destroy();
    process.stdin.destroy();
    this.exit(code);
  }
}
