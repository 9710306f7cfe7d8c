// What a connection may do and when it must go, decided once for every engine: the dirty list
// and the round-end flush, the hard and soft output limits, backpressure, half-close, the idle
// sweep, the shutdown deadline, close reasons, and a failure in one connection closing that
// connection alone. An engine supplies only a Link per connection (how its bytes move) and a
// Clock (how time passes and rounds end). In the spirit of Redis' client output buffer limits
// and libuv's stream: bounded work per event, try-write when over a limit, never one client's
// problem for another.
import { LineDecoder, type FrameError, type LineSink } from '../framing/line-decoder.js';
import type { OutputOwner } from '../loop/owner-runs.js';
import type { CloseReason, Peer, Service, Session } from '../room/service.js';
import type { TraceSink } from '../trace/events.js';
import { closesGracefully, errorCode, reasonForError } from './connection-policy.js';
import { SHUTDOWN_FLUSH_MS, type ServerLimits } from './limits.js';

/** How one engine moves one connection's bytes. */
export interface Link {
  /** The socket's fd, for trace lines (-1 when the engine cannot tell). */
  readonly fd: number;
  /** Output queued and not yet taken by the kernel. */
  readonly unsentBytes: number;
  /** Of that, the bytes other connections' lines (or the server) produced. */
  readonly foreignBytes: number;
  /** Queues a frame (the same Buffer may go to many links), charged to owner; returns the
   *  bytes now unsent. */
  queue(frame: Buffer, owner: OutputOwner | null): number;
  /** Queues a copy of bytes[start, end) and a '\n', charged to owner; returns the bytes unsent. */
  queueLine(bytes: Buffer, start: number, end: number, owner: OutputOwner | null): number;
  /** Hands queued output to the kernel now, unless it is known to be full. Reports progress
   *  through Connection.wrote() and drained(), failures through failed(). */
  flush(why: 'round end' | 'over cap'): void;
  /** Bytes in the kernel's send queue, unsent or unacknowledged; -1 when the engine cannot
   *  tell. A peer that reads, however slowly, makes it go down. */
  kernelQueued(): number;
  /** Starts or stops reading the socket. */
  setReading(on: boolean): void;
  /** Closes the socket once. graceful: FIN after what the kernel holds; else it is dropped. */
  close(graceful: boolean): void;
}

/** How time passes for an engine, and how it asks for a round end. */
export interface Clock {
  now(): number;
  /** Calls fn every ms; returns a function that cancels it. */
  every(ms: number, fn: () => void): () => void;
  /** Calls fn once after ms; returns a function that cancels it. */
  after(ms: number, fn: () => void): () => void;
  /** Output was queued, or a paused reader can go on: end a round soon (do not block first). */
  requestRound(): void;
}

type State = 'open' | 'ending' | 'closed';

/** One client connection on any engine: the peer the service writes to, the sink its decoder
 *  feeds, and the producer its output is charged to. */
export class Connection implements Peer, LineSink, OutputOwner {
  state: State = 'open';
  readonly decoder: LineDecoder;
  session: Session | null = null;
  link!: Link;
  /** In the table's list of connections to flush at the round's end. */
  dirty = false;
  /** Not read because the output its lines produced waits above the high-water mark. */
  paused = false;
  /** In the table's list of paused connections whose output drained enough to go on. */
  resuming = false;
  /** Bytes this connection's lines produced that are still unsent, anywhere. */
  waiting = 0;
  /** Last time it sent us a byte (the idle timeout). */
  lastActive: number;
  /** Since when output has waited with the kernel taking none of it (the stall rule): set when a
   *  flush first leaves some unsent, moved on whenever the kernel takes a byte; 0 while all of
   *  it has gone out. */
  stallingSince = 0;
  /** The kernel's send queue (Link.kernelQueued) half-way through the stall time; -1 until then. */
  stallKernelQueued = -1;
  /** Since when the output others queued for it has been over --soft-queue (0: it is not). */
  overSoftSince = 0;
  /** Over --max-queue even after a write: closed as too slow at the round's end. */
  condemned = false;
  /** Bytes of an unfinished line dropped at EOF, reported when the socket closes. */
  droppedAtEof = 0;
  /** EOF came while it was paused with input not yet looked at (Node emits 'end' once its own
   *  buffer is empty, paused or not): the end of input waits for that input. */
  eofPending = false;

  constructor(
    private readonly table: ConnectionTable,
    readonly remote: string,
  ) {
    this.decoder = new LineDecoder({ maxLineBytes: table.limits.maxLineBytes, bytes: table.linesAsBytes });
    this.lastActive = table.clock.now();
  }

  get fd(): number {
    return this.link.fd;
  }

  /** Can the engine read it now? */
  get reading(): boolean {
    return this.state === 'open' && !this.paused;
  }

  // Peer: what the service does to it.

  // The fan-out path: a broadcast runs this once per member, so it does as little as it can.
  send(frame: Buffer): void {
    if (this.state === 'closed' || this.condemned) return;
    const table = this.table;
    const unsent = this.link.queue(frame, table.producer);
    if (!this.dirty) table.markDirty(this);
    if (unsent > table.maxQueueBytes) table.overCap(this);
  }

  sendLine(bytes: Buffer, start: number, end: number): void {
    if (this.state === 'closed' || this.condemned) return;
    const table = this.table;
    const unsent = this.link.queueLine(bytes, start, end, table.producer);
    if (!this.dirty) table.markDirty(this);
    if (unsent > table.maxQueueBytes) table.overCap(this);
  }

  end(): void {
    if (this.state !== 'open') return;
    this.state = 'ending';
    this.decoder.stop();
    this.link.setReading(false);
    this.table.markDirty(this);
  }

  // LineSink: what its decoder finds.

  line(text: string): void {
    // After /quit (or a close) the rest of what it sent is not read.
    if (this.state !== 'open') return this.decoder.stop();
    this.session!.line(text);
    if (this.waiting > this.table.highWaterBytes && this.state === 'open') this.table.pause(this);
  }

  lineBytes(bytes: Buffer, start: number, end: number): void {
    if (this.state !== 'open') return this.decoder.stop();
    this.session!.lineBytes!(bytes, start, end);
    if (this.waiting > this.table.highWaterBytes && this.state === 'open') this.table.pause(this);
  }

  reject(code: FrameError): void {
    if (this.state !== 'open') return this.decoder.stop();
    this.session!.reject(code);
  }

  // OutputOwner: its output, wherever it is queued.

  credit(bytes: number): void {
    this.waiting -= bytes;
    if (this.paused && !this.resuming && this.waiting <= this.table.lowWaterBytes) this.table.resumeSoon(this);
  }

  // What the engine reports.

  /** Bytes read from the socket: lines go to the session. Returns how many lines (and rejected
   *  lines) they completed. */
  received(bytes: Uint8Array, start: number, end: number): number {
    return this.table.receive(this, bytes, start, end);
  }

  /** The peer sent FIN: no more input. What is queued still goes out, then the socket closes. */
  inputEnded(): void {
    this.table.inputEnded(this);
  }

  /** The kernel took bytes of its output. */
  wrote(bytes: number): void {
    if (bytes <= 0) return;
    if (this.stallingSince !== 0) {
      this.stallingSince = this.table.clock.now();
      this.stallKernelQueued = -1;
    }
    if (this.overSoftSince > 0 && this.link.foreignBytes <= this.table.limits.softQueueBytes) this.overSoftSince = 0;
  }

  /** Everything queued has been taken by the kernel. */
  drained(): void {
    this.stallingSince = 0;
    if (this.state === 'ending') this.table.close(this, this.table.stopping ? 'server shutting down' : 'closed');
  }

  /** A system call on the socket failed. */
  failed(error: unknown): void {
    if (this.state === 'closed') return;
    const code = errorCode(error);
    this.table.trace?.event({ kind: 'error', fd: this.fd, code });
    this.table.close(this, reasonForError(code));
  }
}

export interface TableOptions {
  service: Service;
  limits: ServerLimits;
  clock: Clock;
  trace: TraceSink | null;
  /** Where failures are logged (stderr). */
  log: (line: string) => void;
  /** After the round-end flush asked every dirty link to flush: send what they staged (an
   *  engine that sends many connections' output in one call); without it, links send at once. */
  commitFlush?: () => void;
}

/** Every connection of one server. */
export class ConnectionTable {
  readonly limits: ServerLimits;
  readonly clock: Clock;
  readonly trace: TraceSink | null;
  /** Pause a sender once this much of its output waits; go on below lowWaterBytes. */
  readonly highWaterBytes: number;
  readonly lowWaterBytes: number;
  private readonly service: Service;
  /** The service takes lines as bytes: every decoder delivers them so. */
  readonly linesAsBytes: boolean;
  private readonly log: (line: string) => void;
  private readonly commitFlush: (() => void) | undefined;
  private readonly open = new Set<Connection>();
  /** Connections with output queued this round: flushed once each at the round's end. */
  private readonly dirty: Connection[] = [];
  /** Paused connections whose output drained: they read their backlog at the round's end. */
  private readonly resumable: Connection[] = [];
  /** Connections over --max-queue: closed at the round's end. */
  private readonly condemned: Connection[] = [];
  /** The connection whose input is being handled: what is queued now is charged to it. */
  producer: Connection | null = null;
  /** --max-queue, read on every queued frame. */
  readonly maxQueueBytes: number;
  /** When the next sweep is due (Infinity: none is: nothing to watch, the loop may sleep), and
   *  how to cancel its timer. */
  private sweepAt = Infinity;
  private cancelSweep: (() => void) | null = null;
  stopping = false;
  private allClosed: (() => void) | null = null;

  constructor(options: TableOptions) {
    this.service = options.service;
    this.linesAsBytes = options.service.linesAsBytes;
    this.limits = options.limits;
    this.maxQueueBytes = options.limits.maxQueueBytes;
    this.clock = options.clock;
    this.trace = options.trace;
    this.log = options.log;
    this.commitFlush = options.commitFlush;
    this.highWaterBytes = Math.floor(this.limits.maxQueueBytes / 2);
    this.lowWaterBytes = Math.floor(this.highWaterBytes / 2);
    if (this.limits.idleTimeoutMs > 0) this.sweepBy(this.clock.now() + this.limits.idleTimeoutMs);
  }

  get size(): number {
    return this.open.size;
  }

  /** Is there room for one more connection under --max-clients? */
  get hasRoom(): boolean {
    return this.open.size < this.limits.maxClients;
  }

  /** A new connection on fd (-1 if the engine cannot tell): its link is made by the engine
   *  (link(conn)), then the service greets it. */
  add(fd: number, remote: string, link: (conn: Connection) => Link): Connection {
    this.trace?.event({ kind: 'accept', fd, remote });
    const conn = new Connection(this, remote);
    conn.link = link(conn);
    this.open.add(conn);
    // What the greeting broadcasts (its join) is charged to the newcomer.
    this.handle(conn, () => (conn.session = this.service.open(conn)));
    return conn;
  }

  /** Stops accepting work: the service says goodbye, every connection flushes and closes, and
   *  after SHUTDOWN_FLUSH_MS whatever is left is closed anyway. Resolves when all are closed. */
  shutdown(): Promise<void> {
    this.stopping = true;
    const closed = new Promise<void>((resolve) => (this.allClosed = resolve));
    this.service.shutdown();
    for (const conn of this.open) conn.end();
    const cancel = this.clock.after(SHUTDOWN_FLUSH_MS, () => {
      for (const conn of [...this.open]) this.close(conn, 'server shutting down');
    });
    this.checkAllClosed();
    return closed.then(() => {
      cancel();
      this.cancelSweep?.();
    });
  }

  /** Runs fn on conn's behalf: output it queues is charged to conn, and an exception closes
   *  conn alone (logged once, with its stack) and never the server. */
  handle<T>(conn: Connection, fn: () => T): T | undefined {
    const outer = this.producer;
    this.producer = conn;
    try {
      return fn();
    } catch (error) {
      this.crash(conn, error);
      return undefined;
    } finally {
      this.producer = outer;
    }
  }

  receive(conn: Connection, bytes: Uint8Array, start: number, end: number): number {
    if (this.limits.idleTimeoutMs > 0) conn.lastActive = this.clock.now();
    return this.handle(conn, () => conn.decoder.push(bytes, start, end, conn)) ?? 0;
  }

  inputEnded(conn: Connection): void {
    if (conn.state !== 'open') return;
    if (conn.paused) {
      conn.eofPending = true;
      return;
    }
    conn.state = 'ending';
    conn.link.setReading(false);
    conn.droppedAtEof = conn.decoder.finish();
    // The session is over now (a chat member leaves at once); what it was sent still goes out.
    this.endSession(conn, 'closed');
    if (conn.link.unsentBytes === 0) this.close(conn, 'closed');
    else this.markDirty(conn);
  }

  /** conn's output passed --max-queue. */
  overCap(conn: Connection): void {
    const link = conn.link;
    // Over the hard cap: try the kernel first (it may take it all), as --max-queue counts only
    // what the kernel refused; what it refuses now is the end of this connection.
    link.flush('over cap');
    if (conn.state === 'closed' || link.unsentBytes <= this.limits.maxQueueBytes) return;
    this.trace?.event({ kind: 'too-slow', fd: conn.fd, unsent: link.unsentBytes, rule: 'hard', limit: this.limits.maxQueueBytes });
    conn.condemned = true;
    this.condemned.push(conn);
  }

  markDirty(conn: Connection): void {
    if (conn.dirty) return;
    conn.dirty = true;
    if (this.dirty.push(conn) === 1) this.clock.requestRound();
  }

  /** Backpressure: stop reading conn until its output drains (its decoder keeps the rest of
   *  what was read). */
  pause(conn: Connection): void {
    conn.paused = true;
    conn.decoder.stop();
    conn.link.setReading(false);
    this.trace?.event({ kind: 'paused', fd: conn.fd, waiting: conn.waiting, highWater: this.highWaterBytes });
  }

  resumeSoon(conn: Connection): void {
    conn.resuming = true;
    if (this.resumable.push(conn) === 1) this.clock.requestRound();
  }

  /** End of a round: paused readers whose output drained go on (their backlog first), each
   *  connection's output goes to the kernel once, and connections over a limit are closed. */
  readonly endRound = (): void => {
    for (let i = 0; i < this.resumable.length; i++) this.resume(this.resumable[i]!);
    this.resumable.length = 0;
    // In passes: a flush can close a connection, whose leaving queues more output for others.
    for (let from = 0; from < this.dirty.length; ) {
      const to = this.dirty.length;
      for (let i = from; i < to; i++) {
        const conn = this.dirty[i]!;
        conn.dirty = false;
        if (conn.state !== 'closed') this.handle(conn, () => conn.link.flush('round end'));
      }
      this.commitFlush?.();
      // What the kernel refused must be taken within the soft time (the stall rule), and output
      // others sent may stay over --soft-queue only as long (the soft rule).
      for (let i = from; i < to; i++) {
        const conn = this.dirty[i]!;
        if (conn.state !== 'closed' && conn.link.unsentBytes > 0) this.refusedSome(conn);
      }
      from = to;
    }
    this.dirty.length = 0;
    for (let i = 0; i < this.condemned.length; i++) this.close(this.condemned[i]!, 'too slow');
    this.condemned.length = 0;
    // Credits during the flush may have made readers resumable: they go on next round.
    if (this.resumable.length > 0) this.clock.requestRound();
    if (this.trace) this.traceRoundEnd();
  };

  /** Closes conn exactly once: its socket, its queue, its session (if still on). */
  close(conn: Connection, reason: CloseReason): void {
    if (conn.state === 'closed') return;
    conn.state = 'closed';
    this.open.delete(conn);
    const dropped = conn.decoder.finish() + conn.droppedAtEof;
    try {
      conn.link.close(closesGracefully(reason));
    } catch (error) {
      this.log(`selectchat: closing fd ${conn.fd} failed: ${(error as Error).message}`);
    }
    this.trace?.event({ kind: 'closed', fd: conn.fd, reason, dropped });
    this.endSession(conn, reason);
    this.checkAllClosed();
  }

  /** Takes the paused conn's backlog, then reads its socket again unless it paused once more. */
  private resume(conn: Connection): void {
    conn.resuming = false;
    if (conn.state !== 'open' || !conn.paused) return;
    conn.paused = false;
    conn.lastActive = this.clock.now();
    this.trace?.event({ kind: 'resumed', fd: conn.fd, waiting: conn.waiting });
    this.handle(conn, () => conn.decoder.resume(conn));
    if (!conn.reading) return;
    if (conn.eofPending) this.inputEnded(conn);
    else conn.link.setReading(true);
  }

  /** Tells the service the session is over, once. */
  private endSession(conn: Connection, reason: CloseReason): void {
    const session = conn.session;
    if (session === null) return;
    conn.session = null;
    try {
      session.closed(reason);
    } catch (error) {
      this.logFailure(conn, error);
    }
  }

  /** An exception while handling conn: logged once with its stack; its session ends, what was
   *  already queued for it is still flushed, then it closes. Nobody else is touched. A failure
   *  while it was already ending (its flush) closes it at once. */
  crash(conn: Connection, error: unknown): void {
    this.logFailure(conn, error);
    this.trace?.event({ kind: 'failure', fd: conn.fd, message: (error as Error)?.message ?? String(error) });
    if (conn.state !== 'open') return this.close(conn, 'server error');
    this.endSession(conn, 'server error');
    conn.end();
  }

  private logFailure(conn: Connection, error: unknown): void {
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    this.log(`selectchat: internal error on fd ${conn.fd} (${conn.remote}); that connection is closed, the server goes on:\n${detail}`);
  }

  /** After a flush left conn's output partly unsent: start the clocks of the stall and soft rules. */
  private refusedSome(conn: Connection): void {
    if (conn.stallingSince === 0) {
      conn.stallingSince = this.clock.now();
      conn.stallKernelQueued = -1;
    }
    this.sweepBy(conn.stallingSince + this.softMs / 2);
    if (conn.overSoftSince === 0 && conn.link.foreignBytes > this.limits.softQueueBytes) {
      conn.overSoftSince = this.clock.now();
      this.sweepBy(conn.overSoftSince + this.softMs);
    }
  }

  /** The stall rule for conn, whose output has waited since stallingSince with the socket never
   *  turning writable: 'stalled', or when to look again. Half-way through it notes the kernel's
   *  send queue; at the end, if that queue went down meanwhile, the peer is reading, only slowly
   *  (a slow reader on a busy machine opens its window a little at a time, never enough to make
   *  the socket writable), and the clock starts again. A peer that stopped reading leaves the
   *  queue as it is. (Half-way, not at the start: just after a send the kernel still moves
   *  bytes into a window that is about to close.) */
  private stallCheck(conn: Connection, now: number): number | 'stalled' {
    const half = this.softMs / 2;
    if (now < conn.stallingSince + half) return conn.stallingSince + half;
    if (conn.stallKernelQueued < 0) {
      conn.stallKernelQueued = conn.link.kernelQueued();
      if (now < conn.stallingSince + 2 * half) return conn.stallingSince + 2 * half;
      if (conn.stallKernelQueued < 0) return 'stalled';
      // The half-way look came late (a busy machine): the second half starts now.
      conn.stallingSince = now - half;
      return now + half;
    }
    if (now < conn.stallingSince + 2 * half) return conn.stallingSince + 2 * half;
    if (conn.link.kernelQueued() >= conn.stallKernelQueued) return 'stalled';
    conn.stallingSince = now;
    conn.stallKernelQueued = -1;
    return now + half;
  }

  private get softMs(): number {
    return this.limits.softSeconds * 1000;
  }

  /** Makes sure a sweep runs by `at` (ms on the clock). One timer, at the nearest deadline: an
   *  idle server has none and sleeps in select() for as long as it takes. */
  private sweepBy(at: number): void {
    if (at >= this.sweepAt) return;
    this.cancelSweep?.();
    this.sweepAt = at;
    this.cancelSweep = this.clock.after(Math.max(0, at - this.clock.now()), () => {
      this.sweepAt = Infinity;
      this.cancelSweep = null;
      this.sweep();
    });
  }

  /** The limits that need time: the idle timeout (every state), the stall rule (output waiting
   *  and none of it taken for --soft-seconds), the soft rule (others' output over --soft-queue
   *  for --soft-seconds). Drops who is past one; then sleeps until the nearest next deadline. */
  private sweep(): void {
    const now = this.clock.now();
    const idleMs = this.limits.idleTimeoutMs;
    const softMs = this.softMs;
    let next = Infinity;
    for (const conn of [...this.open]) {
      const link = conn.link;
      if (idleMs > 0 && !conn.paused) {
        if (now - conn.lastActive >= idleMs) {
          this.close(conn, 'idle timeout');
          continue;
        }
        next = Math.min(next, conn.lastActive + idleMs);
      }
      if (link.unsentBytes > 0 && conn.stallingSince !== 0) {
        const due = this.stallCheck(conn, now);
        if (due === 'stalled') {
          // It has taken nothing for --soft-seconds: it stopped reading (or half-closed and left).
          this.trace?.event({ kind: 'stalled', fd: conn.fd, unsent: link.unsentBytes, seconds: this.limits.softSeconds });
          this.close(conn, 'too slow');
          continue;
        }
        next = Math.min(next, due);
      }
      if (conn.overSoftSince > 0) {
        if (link.foreignBytes <= this.limits.softQueueBytes) {
          conn.overSoftSince = 0;
        } else if (now - conn.overSoftSince >= softMs) {
          // It reads, but so slowly that others' output piles up (and their senders stay paused).
          this.trace?.event({ kind: 'too-slow', fd: conn.fd, unsent: link.unsentBytes, rule: 'soft', limit: this.limits.softQueueBytes, seconds: this.limits.softSeconds });
          this.close(conn, 'too slow');
          continue;
        } else {
          next = Math.min(next, conn.overSoftSince + softMs);
        }
      }
    }
    if (idleMs > 0) next = Math.min(next, now + idleMs);
    if (next < Infinity) this.sweepBy(next);
  }

  private traceRoundEnd(): void {
    let queued = 0;
    for (const conn of this.open) queued += conn.link.unsentBytes;
    this.trace!.event({ kind: 'round-end', connections: this.open.size, queuedBytes: queued });
  }

  private checkAllClosed(): void {
    if (this.allClosed && this.open.size === 0) {
      this.allClosed();
      this.allClosed = null;
    }
  }
}
