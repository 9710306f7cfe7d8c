// Interactive mode (a terminal): a readline prompt with history. Incoming lines are printed above
// the prompt and the half-typed input is redrawn below them, so neither garbles the other.
import { clearScreenDown, createInterface, cursorTo, moveCursor, type Interface } from 'node:readline';
import { styleText } from 'node:util';
import type { FrameError } from '../framing/line-decoder.js';
import { encodeLine } from '../framing/line-encoder.js';
import { printable } from './printable.js';
import { QUIT_WAIT_MS, incomingLimit, isQuit, lossMessage, type ClientTransport, type Terminal } from './client-transport.js';

const PROMPT = '> ';
/** Lines kept for the arrow keys. */
const HISTORY_LINES = 1000;

export interface InteractiveOptions {
  /** Longest line sent; longer ones are refused locally. */
  maxLineBytes: number;
  /** Shown once connected: "connected to 127.0.0.1:7070 (engine select)". */
  greeting: string;
}

/** A member's action (/me) as the server sends it: `[ann] *waves*`. */
const ACTION = /^\[[^\]]+\] \*.*\*$/;

/** Server events dimmed, errors red, actions italic, messages plain; styleText drops colour and
 *  style when NO_COLOR asks it to, and the text alone still tells them apart. */
function styled(text: string): string {
  if (text.startsWith('* ')) return styleText('dim', text);
  if (text.startsWith('! ')) return styleText('red', text);
  if (ACTION.test(text)) return styleText('italic', text);
  return text;
}

export class InteractiveTerminal implements Terminal {
  readonly exitCode: Promise<number>;
  private exit!: (code: number) => void;
  private transport: ClientTransport | null = null;
  private prompt: Interface | null = null;
  /** Lines that arrived before the prompt existed, shown after the greeting. */
  private early: string[] | null = [];
  private quitting = false;
  private finished = false;
  private quitTimer: NodeJS.Timeout | null = null;

  constructor(private readonly options: InteractiveOptions) {
    this.exitCode = new Promise((resolve) => (this.exit = resolve));
  }

  start(transport: ClientTransport): void {
    if (this.finished) return;
    this.transport = transport;
    const prompt = createInterface({
      input: process.stdin,
      output: process.stdout,
      prompt: PROMPT,
      historySize: HISTORY_LINES,
      removeHistoryDuplicates: true,
    });
    this.prompt = prompt;
    prompt.on('line', (text) => this.typed(text));
    prompt.on('SIGINT', () => this.quit('/quit', true));
    // Ctrl-D on an empty line closes readline: leave as /quit does.
    prompt.on('close', () => this.quit('/quit', true));
    const early = this.early!;
    this.early = null;
    this.show(`* ${this.options.greeting}; /quit or Ctrl-C to leave`);
    // show() draws the prompt below each line it prints.
    for (const text of early) this.show(text);
  }

  line(text: string): void {
    if (this.early) this.early.push(text);
    else this.show(text);
  }

  reject(code: FrameError): void {
    const what = code === 'ERR_LINE_TOO_LONG' ? `longer than ${incomingLimit(this.options.maxLineBytes)} bytes` : 'not valid UTF-8';
    this.line(`! a line from the server was ${what}: dropped`);
  }

  drained(): void {}

  closed(error: Error | null): void {
    if (this.quitting) return this.finish(0);
    // Closed before the prompt existed (`! server full`): what the server said still shows.
    for (const text of this.early ?? []) process.stdout.write(`${styled(printable(text))}\n`);
    this.clearInput();
    process.stderr.write(`selectchat: ${lossMessage(error)}\n`);
    this.finish(1);
  }

  /** Enter: send the line (readline has left it on screen, so it is shown once), or refuse it. */
  private typed(text: string): void {
    if (this.quitting) return;
    if (text === '') return this.prompt!.prompt();
    if (isQuit(text)) return this.quit(text, false);
    const bytes = Buffer.byteLength(text);
    if (bytes > this.options.maxLineBytes) {
      return this.show(`! line too long (${bytes} bytes, max ${this.options.maxLineBytes}): not sent; arrow up to edit it`);
    }
    this.transport!.send(encodeLine(text));
    this.prompt!.prompt();
  }

  /** Prints one line above the prompt, then redraws the prompt with the input and cursor as they were. */
  private show(text: string): void {
    const shown = styled(printable(text));
    if (this.quitting || this.prompt === null) {
      process.stdout.write(`${shown}\n`);
      return;
    }
    const rows = this.clearInput();
    // readline redraws by first moving up as many rows as it believes the cursor is below the
    // prompt's start (prevRows: not documented, but kept by readline since Node 0.10; it lags
    // the real row after a paste that wraps): give it those rows, so it redraws right here.
    const believed = (this.prompt as unknown as { prevRows?: unknown }).prevRows;
    const up = typeof believed === 'number' ? believed : rows;
    process.stdout.write(`${shown}\n${'\n'.repeat(up)}`);
    this.prompt.prompt(true);
  }

  /** Erases the prompt and input (which may wrap over rows); returns the cursor's row in them. */
  private clearInput(): number {
    if (this.prompt === null || this.quitting) return 0;
    const { rows } = this.prompt.getCursorPos();
    moveCursor(process.stdout, 0, -rows);
    cursorTo(process.stdout, 0);
    clearScreenDown(process.stdout);
    return rows;
  }

  /** Sends the /quit line and waits (bounded) for the server to close. fromKey: Ctrl-C/Ctrl-D,
   *  whose input line is abandoned; a second Ctrl-C leaves at once. */
  private quit(text: string, fromKey: boolean): void {
    if (this.finished) return;
    if (this.quitting) {
      if (fromKey) this.finish(0);
      return;
    }
    if (fromKey) process.stdout.write('\n');
    this.quitting = true;
    this.transport!.send(encodeLine(text));
    this.transport!.end();
    this.quitTimer = setTimeout(() => this.finish(0), QUIT_WAIT_MS);
  }

  private finish(code: number): void {
    if (this.finished) return;
    this.finished = true;
    if (this.quitTimer) clearTimeout(this.quitTimer);
    this.transport?.destroy();
    this.quitting = true;
    this.prompt?.close();
    this.exit(code);
  }
}
