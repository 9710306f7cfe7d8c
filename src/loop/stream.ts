// One non-blocking socket on the loop, for every role (in the spirit of libuv's stream.c): read
// up to a budget into the shared receive buffer, flush a SendQueue with one send(), watch for
// writable only while the kernel left some unsent. The server's connections and the client use
// it alike; what the bytes mean is the handler's business.
import { READABLE, WRITABLE, constants, native } from '../binding/native.js';
import { systemError } from '../binding/sys-error.js';
import type { TraceSink } from '../trace/events.js';
import { NOT_READ, type EventLoop } from './event-loop.js';

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
  /** buffer[start, end) was read; returns how many lines (and rejected lines) it completed. */
  received(buffer: Buffer, start: number, end: number): number;
  /** The peer sent FIN. */
  ended(): void;
  /** An exception escaped while the stream handled one of its events: a bug, this stream's alone. */
  crashed(error: unknown): void;
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

/** A stream's unsent output: a SendQueue (the client) or an OutputQueue (a server connection). */
export interface StreamOutput {
  readonly bytes: number;
  readonly empty: boolean;
  /** One send of everything queued, now: bytes taken or -EAGAIN; a failure throws. */
  sendTo(fd: number): number;
  consume(n: number): void;
  clear(): void;
}

export class NonBlockingStream<Q extends StreamOutput = StreamOutput> {
  /** What the loop watches this fd for: the stream alone changes it, so it keeps its own copy. */
  private interest = READABLE;

  constructor(
    private readonly loop: EventLoop,
    readonly fd: number,
    private readonly handler: StreamHandler,
    /** One buffer every recv() of the process reuses: the handler copies what it keeps. */
    private readonly receiveBuffer: Buffer,
    private readonly trace: TraceSink | null,
    /** For the trace: the decoder's unfinished line. */
    private readonly kept: PendingBytes,
    readonly queue: Q,
  ) {
    // The loop reads a round's ready streams in one crossing (recvMany) and hands each its bytes.
    loop.watch(fd, (events) => this.onEvents(events), READABLE, { batched: true, onError: (error) => handler.crashed(error) });
  }

  /** Is the kernel's buffer known to be full (so a send() now would say EAGAIN)? */
  get waitingForWritable(): boolean {
    return (this.interest & WRITABLE) !== 0;
  }

  setReading(on: boolean): void {
    this.setInterest(on ? this.interest | READABLE : this.interest & ~READABLE);
  }

  /** One send() of the queue (unless the kernel's buffer is known to be full); watches for
   *  writable while the kernel leaves some unsent. */
  flush(why: 'round end' | 'writable'): void {
    if (why === 'round end' && this.interest & WRITABLE) return;
    if (this.queue.empty) return this.sent(0, why);
    let n: number;
    try {
      n = this.queue.sendTo(this.fd);
    } catch (error) {
      return this.handler.failed(error);
    }
    this.sent(n, why);
  }

  /** A send of the queue returned result (bytes taken, -EAGAIN, or -errno from a batch). */
  sent(result: number, why: 'round end' | 'writable'): void {
    const queue = this.queue;
    if (result < 0 && result !== -EAGAIN) return this.handler.failed(systemError(-result, 'send'));
    if (!queue.empty) {
      const sent = result > 0 ? result : 0;
      const before = queue.bytes;
      if (sent > 0) queue.consume(sent);
      this.trace?.event({ kind: 'send', fd: this.fd, why, sent, queued: before });
      this.handler.wrote(sent);
    }
    if (!queue.empty) {
      if (!(this.interest & WRITABLE)) this.setWriteInterest(true);
      return;
    }
    // Watching for writable with nothing to write would make every wait return at once.
    if (this.interest & WRITABLE) this.setWriteInterest(false);
    this.handler.drained();
  }

  /** Stops watching and closes the fd, once. graceful: first read and drop what the peer sent
   *  that nobody read (close() with unread data sends RST, which can destroy our last lines
   *  before the peer reads them). */
  close(graceful: boolean): void {
    this.interest = 0;
    this.loop.unwatch(this.fd);
    if (graceful) this.drainUnread();
    native.close(this.fd);
    this.queue.clear();
  }

  private onEvents(events: number): void {
    if (events & READABLE) this.read();
    // (Reading may have closed the stream: its interest is 0 then.)
    if (events & WRITABLE && this.interest & WRITABLE) this.flush('writable');
  }

  /** Reads until the socket is drained, EOF, MAX_READS_PER_EVENT, or the handler stops. The
   *  first read may have been done by the loop, with the other ready streams' (recvMany). */
  private read(): void {
    const loop = this.loop;
    let i = 0;
    const first = loop.takeRead(this.fd);
    if (first !== NOT_READ) {
      // Bytes already read are delivered, whatever the handler says about reading on.
      if (!this.handle(first, loop.readBuffer, loop.readOffset(this.fd)) || first < loop.readSlotBytes) return;
      i = 1;
    }
    const buffer = this.receiveBuffer;
    for (; i < MAX_READS_PER_EVENT && this.handler.reading; i++) {
      let n: number;
      try {
        n = native.recv(this.fd, buffer, 0, buffer.length);
      } catch (error) {
        return this.handler.failed(error);
      }
      // A short read emptied the kernel's buffer: skip the recv() that would say EAGAIN.
      if (!this.handle(n, buffer, 0) || n < buffer.length) return;
    }
  }

  /** One recv()'s result: bytes go to the handler (true: read on), EAGAIN, EOF or an error end
   *  this event (false). */
  private handle(n: number, buffer: Buffer, start: number): boolean {
    if (n > 0) {
      const lines = this.handler.received(buffer, start, start + n);
      this.trace?.event({ kind: 'recv', fd: this.fd, bytes: n, lines, kept: this.kept.pendingBytes });
      return true;
    }
    if (n === -EAGAIN) {
      this.trace?.event({ kind: 'recv-eagain', fd: this.fd });
    } else if (n === 0) {
      this.trace?.event({ kind: 'recv-eof', fd: this.fd, queued: this.queue.bytes });
      this.handler.ended();
    } else {
      this.handler.failed(systemError(-n, 'recv'));
    }
    return false;
  }

  private setWriteInterest(on: boolean): void {
    this.setInterest(on ? this.interest | WRITABLE : this.interest & ~WRITABLE);
    this.trace?.event({ kind: 'write-interest', fd: this.fd, on });
  }

  private setInterest(interest: number): void {
    if (interest === this.interest) return;
    this.interest = interest;
    this.loop.setInterest(this.fd, interest);
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
