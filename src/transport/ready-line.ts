// The one line `selectchat serve` prints on stdout once it listens, which scripts, tests and the
// benchmark wait for: `listening on 127.0.0.1:7070 (engine select, mode chat)`. The C reference
// server prints the same line.
import { formatEndpoint } from './endpoint.js';

/** What the ready line says. */
export interface ReadyLine {
  host: string;
  port: number;
  engine: string;
  mode: string;
}

/** IPv6 hosts print without brackets, so the host is everything before the last ':'. */
const READY_LINE = /^listening on (.+):(\d+) \(engine (\S+), mode (\S+)\)$/m;

/** The ready line for a server listening on address:port. */
export function formatReadyLine(address: string, port: number, engine: string, mode: string): string {
  return `listening on ${formatEndpoint(address, port)} (engine ${engine}, mode ${mode})`;
}

/** The first ready line in text (which may hold other lines too), or null. */
export function parseReadyLine(text: string): ReadyLine | null {
  const match = READY_LINE.exec(text);
  return match ? { host: match[1]!, port: Number(match[2]), engine: match[3]!, mode: match[4]! } : null;
}
