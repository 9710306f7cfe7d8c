// Test helpers for the framing suites: a sink that records results, and delivery of chunks
// through one reused receive buffer that is overwritten after every push, as a server does.
import type { FrameError, LineDecoder, LineSink } from '../../src/framing/line-decoder.js';

export type Result = { line: string } | { reject: FrameError };

/** Records every result a decoder gives, in order. */
export class Collector implements LineSink {
  readonly results: Result[] = [];
  line(text: string): void {
    this.results.push({ line: text });
  }
  reject(code: FrameError): void {
    this.results.push({ reject: code });
  }
}

/** Byte written over the receive buffer after each push: a '\n', the worst stale byte to read. */
const GARBAGE = 0x0a;

/**
 * Feeds chunks as a server does: each is copied into one shared receive buffer (at a shifting
 * offset, with stale bytes after it), pushed as a view, then overwritten. Checks push's count.
 */
export function deliver(decoder: LineDecoder, chunks: Uint8Array[], sink = new Collector()): Result[] {
  const largest = chunks.reduce((max, chunk) => Math.max(max, chunk.length), 0);
  const receive = Buffer.alloc(largest + 8, GARBAGE);
  chunks.forEach((chunk, i) => {
    const offset = i % 8;
    receive.set(chunk, offset);
    const before = sink.results.length;
    const count = decoder.push(receive, offset, offset + chunk.length, sink);
    if (count !== sink.results.length - before) throw new Error(`push returned ${count}, sink got ${sink.results.length - before}`);
    receive.fill(GARBAGE);
  });
  return sink.results;
}

/** Cuts bytes into chunks at the given positions (sorted, each in [0, bytes.length]). */
export function cut(bytes: Uint8Array, positions: number[]): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const at of positions) {
    chunks.push(bytes.subarray(from, at));
    from = at;
  }
  chunks.push(bytes.subarray(from));
  return chunks;
}

/** Cuts bytes into chunks of size bytes. */
export function every(bytes: Uint8Array, size: number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let from = 0; from < bytes.length; from += size) chunks.push(bytes.subarray(from, from + size));
  return chunks;
}

/** Lines as results, for expectations. */
export function lines(...texts: string[]): Result[] {
  return texts.map((line) => ({ line }));
}
