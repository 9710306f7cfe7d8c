// A Peer without a socket: it keeps every frame a service sends it, and whether it was ended.
import { expect } from 'vitest';
import type { Peer, Service, Session } from '../../src/room/service.js';

export class MemoryPeer implements Peer {
  /** Every frame sent and not yet taken, as the service handed it (the Buffer itself). */
  readonly frames: Buffer[] = [];
  ended = false;

  send(frame: Buffer): void {
    this.frames.push(frame);
  }

  /** A line passed on as bytes (echo): kept as the frame a transport would send. */
  sendLine(bytes: Buffer, start: number, end: number): void {
    this.frames.push(Buffer.concat([bytes.subarray(start, end), Buffer.from('\n')]));
  }

  end(): void {
    this.ended = true;
  }

  /** The lines received since the last take(), without their '\n'; forgets them. */
  take(): string[] {
    const lines = this.frames.map(lineOf);
    this.frames.length = 0;
    return lines;
  }
}

/** A frame's text; fails the test unless it is exactly one line ended by '\n'. */
export function lineOf(frame: Buffer): string {
  const text = frame.toString('utf8');
  expect(text.endsWith('\n') && text.indexOf('\n') === text.length - 1, `one line per frame: ${JSON.stringify(text)}`).toBe(true);
  return text.slice(0, -1);
}

/** One connection to a service: its peer and its session. */
export interface Client {
  readonly peer: MemoryPeer;
  readonly session: Session;
}

/** Opens a connection to service. */
export function connect(service: Service): Client {
  const peer = new MemoryPeer();
  return { peer, session: service.open(peer) };
}
