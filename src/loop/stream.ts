// One non-blocking socket on the loop, for every role (in the spirit of libuv's stream.c): read
// up to a budget into the shared receive buffer, flush a SendQueue with one send(), watch for
// writable only while the kernel left some unsent. The server's connections and the client use
// it alike; what the bytes mean is the handler's business.
import { READABLE, WRITABLE, constants, native } from '../binding/native.js';
import type { TraceSink } from '../trace/events.js';
import type { EventLoop } from './event-loop.js';
import type { OutputOwner } from './owner-runs.js';
import { SendQueue } from './send-queue.js';

/** Reads per readable event before the round goes on, so one flooding peer cannot starve the
 *  rest (libuv uses 32 too). */
const MAX_READS_PER_EVENT = 32;
/** recv() calls spent draining a socket before a graceful close, so close() sends FIN, not RST. */
const MAX_DRAIN_READS = 4;

const { EAGAIN } = constants;

/** What a stream reports to whoever owns it. */
export interface StreamHandler {
  /** May it read now? (Open, and not paused by backpressure.) Checked before every recv(). */
  readonly reading: boolean;
  /** buffer[0, n) was read; returns how many lines (and rejected lines) it completed. */
  received(buffer: Buffer, n: number): number;
  /** The peer sent FIN. */
  ended(): void;
  /** A system call on the socket failed (ECONNRESET, EPIPE, ...). */
  failed(error: unknown): void;
  /** The kernel took n bytes of the queue (maybe 0). */
  wrote(n: number): void;
  /** The queue is empty. */
  drained(): void;
}

/** What a line-oriented handler keeps of an unfinished line (for the trace). */
export interface PendingBytes {
  readonly pendingBytes: number;
}

export class NonBlockingStream {
  readonly queue: SendQueue;

  constructor(
    private readonly loop: EventLoop,
    readonly fd: number,
    private readonly handler: StreamHandler,
    /** One buffer every recv() of the process reuses: the handler copies what it keeps. */
    private readonly receiveBuffer: Buffer,
    private readonly trace: TraceSink | null,
    /** For the trace: the decoder's unfinished line. */
    private readonly kept: PendingBytes,
    /** Whose output is "own" in the queue (a server connection), or null. */
    self: OutputOwner | null = null,
  ) {
    this.queue = new SendQueue(self);
    loop.watch(fd, (events) => this.onEvents(events), READABLE);
  }

  /** Is the kernel's buffer known to be full (so a send() now would say EAGAIN)? */
  get waitingForWritable(): boolean {
    return (this.loop.interest(this.fd) & WRITABLE) !== 0;
  }

  setReading(on: boolean): void {
    const interest = this.loop.interest(this.fd);
    this.loop.setInterest(this.fd, on ? interest | READABLE : interest & ~READABLE);
  }

  /** One send() of the queue (unless the kernel's buffer is known to be full); watches for
   *  writable while the kernel leaves some unsent. */
  flush(why: 'round end' | 'writable'): void {
    if (why === 'round end' && this.waitingForWritable) return;
    const queue = this.queue;
    const buffer = queue.buffer;
    if (buffer !== null) {
      const before = queue.bytes;
      let n: number;
      try {
        n = native.send(this.fd, buffer, queue.offset, before);
      } catch (error) {
        return this.handler.failed(error);
      }
      if (n > 0) queue.consume(n);
      else n = 0;
      this.trace?.event({ kind: 'send', fd: this.fd, why, sent: n, queued: before });
      this.handler.wrote(n);
    }
    const interest = this.loop.interest(this.fd);
    if (!queue.empty) {
      if (!(interest & WRITABLE)) this.setWriteInterest(interest, true);
      return;
    }
    // Watching for writable with nothing to write would make every wait return at once.
    if (interest & WRITABLE) this.setWriteInterest(interest, false);
    this.handler.drained();
  }

  /** Stops watching and closes the fd, once. graceful: first read and drop what the peer sent
   *  that nobody read (close() with unread data sends RST, which can destroy our last lines
   *  before the peer reads them). */
  close(graceful: boolean): void {
    this.loop.unwatch(this.fd);
    if (graceful) this.drainUnread();
    native.close(this.fd);
    this.queue.clear();
  }

  private onEvents(events: number): void {
    if (events & READABLE) this.read();
    if (events & WRITABLE && this.loop.interest(this.fd) & WRITABLE) this.flush('writable');
  }

  /** Reads until the socket is drained, EOF, MAX_READS_PER_EVENT, or the handler stops. */
  private read(): void {
    const buffer = this.receiveBuffer;
    const handler = this.handler;
    for (let i = 0; i < MAX_READS_PER_EVENT && handler.reading; i++) {
      let n: number;
      try {
        n = native.recv(this.fd, buffer, 0, buffer.length);
      } catch (error) {
        return handler.failed(error);
      }
      if (n === -EAGAIN) {
        this.trace?.event({ kind: 'recv-eagain', fd: this.fd });
        return;
      }
      if (n === 0) {
        this.trace?.event({ kind: 'recv-eof', fd: this.fd, queued: this.queue.bytes });
        return handler.ended();
      }
      const lines = handler.received(buffer, n);
      this.trace?.event({ kind: 'recv', fd: this.fd, bytes: n, lines, kept: this.kept.pendingBytes });
      // A short read emptied the kernel's buffer: skip the recv() that would say EAGAIN.
      if (n < buffer.length) return;
    }
  }

  private setWriteInterest(interest: number, on: boolean): void {
    this.loop.setInterest(this.fd, on ? interest | WRITABLE : interest & ~WRITABLE);
    this.trace?.event({ kind: 'write-interest', fd: this.fd, on });
  }

  private drainUnread(): void {
    try {
      for (let i = 0; i < MAX_DRAIN_READS; i++) {
        if (native.recv(this.fd, this.receiveBuffer, 0, this.receiveBuffer.length) <= 0) return;
      }
    } catch {
      // Reset by the peer: nothing left to protect.
    }
  }
}
