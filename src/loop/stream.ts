// One non-blocking socket on the loop, for every role (in the spirit of libuv's stream.c): read
// up to a budget into the shared receive buffer, flush a SendQueue with one send(), watch for
// writable only while the kernel left some unsent. The server's connections and the client use
// it alike; what the bytes mean is the handler's business.
import { READABLE, WRITABLE, constants, native } from '../binding/native.js';
import { systemError } from '../binding/sys-error.js';
import type { TraceSink } from '../trace/events.js';
import { NOT_READ, type EventLoop } from './event-loop.js';
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

export class NonBlockingStream {
  readonly queue: SendQueue;
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
    /** Whose output is "own" in the queue (a server connection), or null. */
    self: OutputOwner | null = null,
  ) {
    this.queue = new SendQueue(self);
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
    const queue = this.queue;
    const buffer = queue.buffer;
    if (buffer === null) return this.sent(0, why);
    let n: number;
    try {
      n = native.send(this.fd, buffer, queue.offset, queue.bytes);
    } catch (error) {
      return this.handler.failed(error);
    }
    this.sent(n, why);
  }

  /** The round-end flush as a batch entry: stages this stream's send() in batch under item
   *  (whose owner then calls sent() with the result), or finishes at once when there is
   *  nothing to send now. */
  stage<T>(batch: SendBatch<T>, item: T): void {
    if (this.interest & WRITABLE) return;
    const queue = this.queue;
    const buffer = queue.buffer;
    if (buffer === null) return this.sent(0, 'round end');
    batch.add(item, this.fd, buffer, queue.offset, queue.bytes);
  }

  /** A send() of the queue returned result (bytes taken, -EAGAIN, or -errno from a batch). */
  sent(result: number, why: 'round end' | 'writable'): void {
    const queue = this.queue;
    if (result < 0 && result !== -EAGAIN) return this.handler.failed(systemError(-result, 'send'));
    if (queue.buffer !== null) {
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

/** A round's sends, made in one crossing (sendMany): streams stage() into it under an item of
 *  their owner's, run() sends and hands each item its result, in staging order. */
export class SendBatch<T> {
  private items: T[] = [];
  private readonly buffers: Buffer[] = [];
  private fds = new Int32Array(64);
  private offsets = new Int32Array(64);
  private lengths = new Int32Array(64);
  private results = new Int32Array(64);

  add(item: T, fd: number, buffer: Buffer, offset: number, length: number): void {
    const i = this.items.length;
    if (i === this.fds.length) this.grow();
    this.items.push(item);
    this.buffers.push(buffer);
    this.fds[i] = fd;
    this.offsets[i] = offset;
    this.lengths[i] = length;
  }

  /** Sends everything staged (one send() is no cheaper in a batch), then calls
   *  finish(item, result) for each: bytes taken, -EAGAIN, or -errno. */
  run(finish: (item: T, result: number) => void): void {
    const count = this.items.length;
    if (count === 0) return;
    if (count === 1) {
      this.results[0] = sendOne(this.fds[0]!, this.buffers[0]!, this.offsets[0]!, this.lengths[0]!);
    } else {
      native.sendMany(this.fds, count, this.buffers, this.offsets, this.lengths, this.results);
    }
    const items = this.items;
    this.items = [];
    this.buffers.length = 0;
    for (let i = 0; i < count; i++) finish(items[i]!, this.results[i]!);
  }

  private grow(): void {
    const grown = (old: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> => {
      const array = new Int32Array(old.length * 2);
      array.set(old);
      return array;
    };
    this.fds = grown(this.fds);
    this.offsets = grown(this.offsets);
    this.lengths = grown(this.lengths);
    this.results = new Int32Array(this.fds.length);
  }
}

/** One send() with the batch's way of reporting: bytes, -EAGAIN, or -errno (not thrown). */
function sendOne(fd: number, buffer: Buffer, offset: number, length: number): number {
  try {
    return native.send(fd, buffer, offset, length);
  } catch (error) {
    const errno = (error as { errno?: unknown }).errno;
    if (typeof errno === 'number') return errno;
    throw error;
  }
}
