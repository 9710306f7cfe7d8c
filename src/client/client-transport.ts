// The seam between the chat client's terminal side and its socket side: one interface, two
// engines (the project's EventLoop in loop-client.ts, Node's net in libuv-client.ts).
import { isSystemError } from '../binding/native.js';
import { DEFAULT_MAX_LINE_BYTES, type LineSink } from '../framing/line-decoder.js';

/** What the socket side reports. The decoder feeds line() and reject() straight from recv(). */
export interface ClientHandler extends LineSink {
  /** Everything queued has been handed to the kernel. */
  drained(): void;
  /** The connection is gone (null: the server closed it cleanly). Called at most once, last;
   *  never after destroy(). */
  closed(error: Error | null): void;
}

/** One connection to the server, already established. */
export interface ClientTransport {
  /** Queues one encoded frame; frames queued in one turn go out in one write. */
  send(frame: Buffer): void;
  /** Bytes queued and not yet taken by the kernel. */
  readonly unsentBytes: number;
  /** Sends what is queued, then half-closes (FIN): the server reads EOF after our last line. */
  end(): void;
  /** Closes the socket now, silently; safe to call twice. */
  destroy(): void;
}

/** How long the client waits for the server to close after `/quit` before closing itself (ms). */
export const QUIT_WAIT_MS = 1000;

/** Extra room for incoming lines: the server prefixes our peers' lines with `[nick] `. */
const INCOMING_SLACK_BYTES = 1024;

/** The longest line accepted from the server: a peer's longest line plus its prefix, and never
 *  less than the server's default limit allows, whatever --max-line this client sends with. */
export function incomingLimit(maxLineBytes: number): number {
  return Math.max(maxLineBytes, DEFAULT_MAX_LINE_BYTES) + INCOMING_SLACK_BYTES;
}

/** The one line the user sees when the connection is lost. */
export function lossMessage(error: Error | null): string {
  if (error === null) return 'connection closed by server';
  if (isSystemError(error) && (error.code === 'ECONNRESET' || error.code === 'EPIPE')) return 'connection reset by server';
  return error.message;
}

/** Is this line a `/quit` command (with or without a reason), as the server parses it? */
export function isQuit(text: string): boolean {
  return /^\/quit( |$)/i.test(text);
}

/** The user's side of the client (interactive or scripted): handles the connection's events
 *  from the moment it opens, then start() hands it the connection to send on. */
export interface Terminal extends ClientHandler {
  start(transport: ClientTransport): void;
  /** Resolves with the exit status once the session is over (0 left, 1 connection lost). */
  readonly exitCode: Promise<number>;
}
