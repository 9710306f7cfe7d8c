// What every transport decides the same way: the refusal a newcomer gets when the server is
// full, why a connection ended, and whether it ends gracefully.
import { encodeLine } from '../framing/line-encoder.js';
import { SERVER_FULL } from '../room/protocol.js';
import type { CloseReason } from '../room/service.js';

/** `! server full`, encoded once: the one line a refused newcomer gets before its socket closes. */
export const SERVER_FULL_FRAME = encodeLine(SERVER_FULL);

/** A failed socket call's error code (ECONNRESET, EPIPE, ...), or its text when it has none. */
export function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : String(error);
}

/** The close reason a failed socket call gives: a reset (RST, or EPIPE after one) is routine. */
export function reasonForError(code: string): CloseReason {
  return code === 'ECONNRESET' || code === 'EPIPE' ? 'connection reset' : 'closed';
}

/** Graceful closes send FIN after what the kernel already holds; a reset, a too-slow reader or a
 *  connection whose flush itself failed is simply dropped. */
export function closesGracefully(reason: CloseReason): boolean {
  return reason !== 'connection reset' && reason !== 'too slow' && reason !== 'server error';
}
