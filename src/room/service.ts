// The seam between a transport (select or libuv) and what runs on it (the chat room or echo).
import type { LineSink } from '../framing/line-decoder.js';

/** Why a connection ended; the chat room shows it as `* NICK left (REASON)`. */
export type CloseReason =
  | 'closed'
  | 'connection reset'
  | 'too slow'
  | 'idle timeout'
  | 'server shutting down'
  | 'server error';

/** One connection, as a service sees it; each transport implements it. */
export interface Peer {
  /** Queues one encoded frame. Transports send what a round queued in one write per peer. */
  send(frame: Buffer): void;
  /** Queues bytes[start, end) and a '\n' (a line passed on as it came: echo). */
  sendLine(bytes: Buffer, start: number, end: number): void;
  /** Sends what is queued, then closes; no more lines reach the session. */
  end(): void;
}

/** A service's state for one connection. The transport feeds it lines and rejects. */
export interface Session extends LineSink {
  /** The session is over: no more lines (the peer's input ended, or its connection closed or
   *  failed). What was already sent to it is still delivered. Called exactly once, last. */
  closed(reason: CloseReason): void;
}

/** What runs on a transport: the chat room or the echo service. */
export interface Service {
  readonly mode: ServiceMode;
  /** Its sessions take lines as bytes (Session.lineBytes), never decoded to strings. */
  readonly linesAsBytes: boolean;
  /** A new connection: greets it and returns its session. */
  open(peer: Peer): Session;
  /** The server is stopping: tell everyone, before the transport flushes and closes. */
  shutdown(): void;
}

export type ServiceMode = 'chat' | 'echo';
