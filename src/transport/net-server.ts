// The libuv transport: the same service, decoder, limits and close rules (the ConnectionTable)
// on Node's `net` module. libuv's epoll loop inside Node says when a socket is readable and
// finishes partial writes; this file feeds each 'data' chunk to the connection, joins a turn's
// frames into one write per connection, and holds output back while write() says the socket is
// full. A careful `net` server, so the comparison is fair.
import net from 'node:net';
import type { SocketAddress } from '../binding/native.js';
import { OwnerRuns, type OutputOwner } from '../loop/owner-runs.js';
import { SERVER_FULL } from '../room/protocol.js';
import type { TraceSink } from '../trace/events.js';
import { SERVER_FULL_FRAME, errorCode } from './connection-policy.js';
import { ConnectionTable, type Clock, type Connection, type Link } from './connection-table.js';
import { isIPv6 } from './endpoint.js';
import { LISTEN_BACKLOG, SHUTDOWN_FLUSH_MS } from './limits.js';
import { bindReusePort } from './reuse-port.js';
import type { ChatServer, ServerOptions } from './server.js';

/** Most turns in a row that only admitted connections, whose output waits for the next turn. */
const MAX_DEFERRED_TURNS = 256;

const NEWLINE = 0x0a;

/** What --trace may read of a socket's libuv handle (private to Node: read only for the trace). */
interface HandleView {
  _handle?: { fd?: unknown; writeQueueSize?: unknown } | null;
}

/** The socket's fd, for trace lines only; -1 if Node does not expose it. */
function fdOf(socket: net.Socket | net.Server): number {
  const fd = (socket as HandleView)._handle?.fd;
  return typeof fd === 'number' ? fd : -1;
}

/** Bytes libuv still holds for the kernel (its write queue), for trace lines only. */
function libuvQueuedBytes(socket: net.Socket): number {
  const size = (socket as HandleView)._handle?.writeQueueSize;
  return typeof size === 'number' ? size : 0;
}

const NO_BYTES = Buffer.alloc(0);

/** Bytes of one block of the frame log. */
const FRAME_LOG_BLOCK_BYTES = 256 * 1024;

/**
 * Every frame queued on any connection, stored once, one after the other. A broadcast hands the
 * same Buffer to every member: the first member's queue() stores it, the others find it stored
 * (the last one), so each member's output of a turn is a few ranges of the log rather than
 * hundreds of frames, and is gathered at the turn's end by a copy per range. A full block is
 * never written again (ranges into it stay valid as long as someone holds them); the block in
 * use is reused from its start once no connection holds a range of the log, which is after
 * most turns, so a busy server does not allocate a new block per 256 KiB of output.
 */
class FrameLog {
  /** The block frames are stored in now, and how much of it is used. */
  block = Buffer.allocUnsafeSlow(FRAME_LOG_BLOCK_BYTES);
  private used = 0;
  /** The frame stored last, and where: block[offset, offset + frame.length). */
  frame: Buffer | null = null;
  offset = 0;
  /** Connections holding ranges of the log. */
  users = 0;
  /** Where a connection's pieces are joined for its write: reused as long as each write is
   *  taken by the kernel at once (libuv's try-write), so a turn's writes allocate nothing. A
   *  block of 10 KB or so per member per turn, allocated afresh, was enough external memory
   *  churn to make V8 run a full GC ten times a second on chat N=100 K=10. */
  private joinBuffer = Buffer.allocUnsafeSlow(FRAME_LOG_BLOCK_BYTES);

  /** pieces (bytes in all) joined into one Buffer: a view of the join buffer when they fit. The
   *  caller must call handedOver() once Node has it. */
  join(pieces: Buffer[], bytes: number): Buffer {
    const target = this.joinBuffer;
    if (bytes > target.length) return Buffer.concat(pieces, bytes);
    let at = 0;
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i]!;
      target.set(piece, at);
      at += piece.length;
    }
    return target.subarray(0, bytes);
  }

  /** Node took block: if Node still holds it (not all written at once), the join buffer is
   *  Node's now and a new one is made. */
  handedOver(block: Buffer, nodeHeld: number): void {
    if (nodeHeld > 0 && block.buffer === this.joinBuffer.buffer) this.joinBuffer = Buffer.allocUnsafeSlow(FRAME_LOG_BLOCK_BYTES);
  }

  /** Starts the log over in the same block: nobody holds a range of it. */
  reset(): void {
    this.used = 0;
    this.frame = null;
  }

  store(frame: Buffer): void {
    const size = frame.length;
    if (this.used + size > this.block.length) {
      this.block = Buffer.allocUnsafeSlow(Math.max(FRAME_LOG_BLOCK_BYTES, size));
      this.used = 0;
    }
    this.block.set(frame, this.used);
    this.offset = this.used;
    this.used += size;
    this.frame = frame;
  }
}

/** A connection's net.Socket: the output of this turn, the blocks handed to Node and not yet
 *  written, and whose bytes they all are. */
class NetLink implements Link {
  // The fields a fan-out turn touches for every frame come first, so that they share as few
  // cache lines as can be: V8 lays an object's fields out in the order they are declared, and a
  // broadcast to 500 members misses the cache on each member's link.
  private closed = false;
  private readonly log: FrameLog;
  /** Output queued since the last write, oldest first: pieces (ranges of the frame log, views of
   *  a chunk read, or frames of their own), then the open piece, buffer[pieceStart, pieceEnd),
   *  which grows while what is queued follows it in the same buffer. */
  private piece: Buffer | null = null;
  private pieceStart = 0;
  private pieceEnd = 0;
  /** Bytes and frames (lines) queued since the last write. */
  private queuedBytes = 0;
  /** Bytes Node holds for the socket (socket.writableLength), as of our last write() or its
   *  callback: it changes only inside write() and just before a write's callback runs, so a
   *  copy spares the fan-out path two property loads per frame. */
  private nodeHeld = 0;
  /** Some queued piece is a range of the frame log (which must never go to Node as it is). */
  private fromLog = false;
  private queuedFrames = 0;
  /** Whose bytes the queued output is: runs of one producer, in the order queued (the open one
   *  last), credited when the block is written at once or else told to `runs`. A block is
   *  accounted as a whole, so nothing observes them before. The producer's waiting count is
   *  raised at once, so backpressure sees every byte as it is queued. */
  private runOwner: OutputOwner | null = null;
  private runBytes = 0;
  /** Of the queued bytes, those another producer than this connection queued. */
  private queuedForeign = 0;
  private owners: (OutputOwner | null)[] = [];
  private ownerBytes: number[] = [];
  private pieces: Buffer[] = [];
  /** pieces[0, ownPieces) are Buffers of their own; the rest are views, which must not be
   *  kept past the turn: a view pins the whole buffer it looks into. */
  private ownPieces = 0;
  readonly fd: number;
  /** The chunk libuv read, while the decoder reads it: echo lines go out as views of it, not as
   *  copies (Node allocates a fresh buffer for every read and never reuses it). */
  private chunk: Buffer | null = null;
  /** Sizes of the blocks Node held after write(), each followed by an empty write whose
   *  callback says it is written, oldest first. */
  private readonly inFlight: number[] = [];
  /** write() returned false: output waits here until 'drain'. */
  private blocked = false;
  private readonly runs: OwnerRuns;

  constructor(
    private readonly server: NetServer,
    private readonly conn: Connection,
    private readonly socket: net.Socket,
  ) {
    this.fd = server.trace ? fdOf(socket) : -1;
    this.log = server.frameLog;
    this.runs = new OwnerRuns(conn);
    socket.on('data', (chunk: Buffer) => this.read(chunk));
    socket.on('end', () => this.ended());
    socket.on('error', (error) => conn.failed(error));
    socket.on('drain', () => this.drain());
  }

  /** Output not yet taken by the kernel: ours plus what Node still holds (writableLength is 0
   *  at once when libuv wrote a block synchronously; it counts a partly written block in full). */
  get unsentBytes(): number {
    return this.queuedBytes + this.nodeHeld;
  }

  get foreignBytes(): number {
    return this.runs.foreign + this.queuedForeign;
  }

  // The fan-out path: a broadcast runs this once per member.
  queue(frame: Buffer, owner: OutputOwner | null): number {
    const bytes = frame.length;
    if (bytes > 0 && !this.closed) {
      const log = this.log;
      if (frame !== log.frame) log.store(frame);
      this.append(log.block, log.offset, bytes);
      if (!this.fromLog) {
        this.fromLog = true;
        log.users++;
      }
      this.charge(owner, bytes);
    }
    return this.queuedBytes + this.nodeHeld;
  }

  queueLine(bytes: Buffer, start: number, end: number, owner: OutputOwner | null): number {
    if (this.closed) return this.unsentBytes;
    const size = end - start + 1;
    if (bytes === this.chunk && bytes[end] === NEWLINE) {
      // The line and its '\n' as they came: a view, or a longer one if it follows the last.
      this.append(bytes, start, size);
    } else {
      const frame = Buffer.allocUnsafe(size);
      bytes.copy(frame, 0, start, end);
      frame[size - 1] = NEWLINE;
      if (this.piece !== null) this.closePiece();
      this.pieces.push(frame);
      if (this.ownPieces === this.pieces.length - 1) this.ownPieces++;
      this.queuedBytes += size;
      this.queuedFrames++;
    }
    this.charge(owner, size);
    return this.queuedBytes + this.nodeHeld;
  }

  /** buffer[start, start + size) is queued next: the open piece grows, or a new one opens. */
  private append(buffer: Buffer, start: number, size: number): void {
    if (this.piece === buffer && this.pieceEnd === start) {
      this.pieceEnd = start + size;
    } else {
      if (this.piece !== null) this.closePiece();
      this.piece = buffer;
      this.pieceStart = start;
      this.pieceEnd = start + size;
    }
    this.queuedBytes += size;
    this.queuedFrames++;
  }

  /** No piece is a range of the frame log any more. */
  private leaveLog(): void {
    if (!this.fromLog) return;
    this.fromLog = false;
    this.log.users--;
  }

  private closePiece(): void {
    this.pieces.push(this.piece!.subarray(this.pieceStart, this.pieceEnd));
    this.piece = null;
  }

  /** bytes more queued by owner: its waiting count now, the block's runs by the run. */
  private charge(owner: OutputOwner | null, bytes: number): void {
    if (owner !== this.runOwner) {
      if (this.runBytes > 0) {
        this.owners.push(this.runOwner);
        this.ownerBytes.push(this.runBytes);
      }
      this.runOwner = owner;
      this.runBytes = 0;
    }
    this.runBytes += bytes;
    if (owner !== null) owner.waiting += bytes;
    if (owner !== this.conn) this.queuedForeign += bytes;
  }

  /** The queued output's runs go to `runs` (which counts their bytes into each producer's
   *  waiting again, so they come off first). */
  private settleRuns(): void {
    const owners = this.owners;
    const sizes = this.ownerBytes;
    for (let i = 0; i < owners.length; i++) this.addRun(owners[i]!, sizes[i]!);
    if (this.runBytes > 0) this.addRun(this.runOwner, this.runBytes);
    this.owners = [];
    this.ownerBytes = [];
    this.runOwner = null;
    this.runBytes = 0;
    this.queuedForeign = 0;
  }

  private addRun(owner: OutputOwner | null, bytes: number): void {
    if (owner !== null) owner.waiting -= bytes;
    this.runs.add(owner, bytes);
  }

  flush(): void {
    // While write() says the socket is full, output waits for 'drain', in a copy of its own.
    if (!this.blocked) this.write('turn end');
    else this.keepViews();
  }

  /** Node's net module does not show the kernel's queue: the stall rule judges by writes alone. */
  kernelQueued(): number {
    return -1;
  }

  setReading(on: boolean): void {
    if (on) this.socket.resume();
    else this.socket.pause();
  }

  close(graceful: boolean): void {
    this.closed = true;
    this.pieces = [];
    this.piece = this.chunk = null;
    this.ownPieces = 0;
    this.leaveLog();
    this.queuedBytes = this.queuedFrames = 0;
    this.settleRuns();
    this.runs.clear();
    const socket = this.socket;
    // Nothing left for Node to write: FIN (end), then let go of it. Anything else is dropped.
    if (!graceful || socket.writableLength > 0 || socket.writableFinished) socket.destroy();
    else if (!socket.writableEnded) socket.end(() => socket.destroy());
  }

  /** A chunk libuv read. A chunk that arrives while the connection is paused (Node had it in
   *  flight) is not lost: the decoder keeps it behind its backlog. */
  private read(chunk: Buffer): void {
    const conn = this.conn;
    this.server.readInput();
    if (conn.state !== 'open') return;
    // Only while the decoder reads it: a view may outlive this call, the reference must not.
    this.chunk = chunk;
    const lines = conn.received(chunk, 0, chunk.length);
    this.chunk = null;
    this.server.trace?.event({ kind: 'data', fd: this.fd, bytes: chunk.length, lines, kept: conn.decoder.pendingBytes });
  }

  private ended(): void {
    this.server.readInput();
    this.server.trace?.event({ kind: 'data-end', fd: this.fd, queued: this.unsentBytes });
    this.conn.inputEnded();
  }

  /** Output that waits past the turn is copied out of the views it is made of, once. */
  private keepViews(): void {
    if (this.piece !== null) this.closePiece();
    const pieces = this.pieces;
    const from = this.ownPieces;
    if (from === pieces.length) return;
    const copy = Buffer.concat(from === 0 ? pieces : pieces.slice(from));
    pieces.length = from;
    pieces.push(copy);
    this.ownPieces = pieces.length;
    this.leaveLog();
  }

  /** Hands this turn's output to Node in one write: one joined block, not cork() + a write()
   *  per frame (one WriteWrap, no per-frame stream bookkeeping, which measured faster for
   *  fan-out, see README), gathered by a copy per piece. A lone piece goes as it is unless it is
   *  a range of the frame log, which would pin a whole block of the log while Node holds it. */
  private write(why: 'turn end' | 'drain'): void {
    const bytes = this.queuedBytes;
    if (bytes === 0) {
      if (this.nodeHeld === 0) this.conn.drained();
      return;
    }
    if (this.piece !== null) this.closePiece();
    const pieces = this.pieces;
    const frames = this.queuedFrames;
    const block = pieces.length === 1 && !this.fromLog ? pieces[0]! : this.log.join(pieces, bytes);
    this.pieces = [];
    this.ownPieces = 0;
    this.leaveLog();
    this.queuedBytes = this.queuedFrames = 0;
    const socket = this.socket;
    const ok = socket.write(block);
    this.nodeHeld = socket.writableLength;
    this.log.handedOver(block, this.nodeHeld);
    this.blocked = !ok;
    this.server.trace?.event({ kind: 'write', fd: this.fd, why, bytes, frames, libuvQueued: libuvQueuedBytes(socket), full: !ok });
    if (this.nodeHeld === 0) {
      // The kernel took all of it at once (libuv's try-write): its bytes stop waiting now, and
      // their producers are credited directly. A write callback would cost a process.nextTick
      // per write, and adding the runs to `runs` only to consume them at once would touch each
      // member's run arrays for nothing.
      this.creditRuns();
      this.conn.wrote(bytes);
      if (this.unsentBytes === 0) this.conn.drained();
    } else {
      // Node holds some of it: its runs wait in `runs`, and an empty write behind it calls back
      // once all of it is written.
      this.settleRuns();
      this.inFlight.push(bytes);
      socket.write(NO_BYTES, this.written);
    }
  }

  /** The block's runs, written at once: each producer gets its bytes back. */
  private creditRuns(): void {
    const owners = this.owners;
    const sizes = this.ownerBytes;
    for (let i = 0; i < owners.length; i++) owners[i]?.credit(sizes[i]!);
    if (this.runBytes > 0) this.runOwner?.credit(this.runBytes);
    this.owners = [];
    this.ownerBytes = [];
    this.runOwner = null;
    this.runBytes = 0;
    this.queuedForeign = 0;
  }

  /** A block Node held reached the kernel: its bytes stop waiting, and their producers hear of
   *  it (`runs` is consumed oldest first). */
  private readonly written = (error?: Error | null): void => {
    if (error || this.closed) return;
    this.nodeHeld = this.socket.writableLength;
    const bytes = this.inFlight.shift()!;
    this.runs.consume(bytes);
    this.conn.wrote(bytes);
    if (this.unsentBytes === 0) this.conn.drained();
  };

  /** Node's write queue emptied after write() returned false: write what queued meanwhile. */
  private drain(): void {
    this.blocked = false;
    this.nodeHeld = this.socket.writableLength;
    if (!this.closed) this.write('drain');
  }
}

export class NetServer implements ChatServer {
  readonly engine = 'libuv' as const;
  readonly address: SocketAddress;
  readonly trace: TraceSink | null;
  /** Where every connection's queued frames are stored once. */
  readonly frameLog = new FrameLog();
  private readonly table: ConnectionTable;
  private turnScheduled = false;
  /** This turn admitted a connection / read input (a chunk or an EOF). */
  private admittedThisTurn = false;
  private readThisTurn = false;
  /** Turns in a row whose output waits for the next (see endTurn). */
  private deferredTurns = 0;
  private stopping: Promise<void> | null = null;

  /** Listens on options.host:port; rejects with the listen error (EADDRINUSE, ...). */
  static async listen(options: ServerOptions): Promise<NetServer> {
    // noDelay: frames go out when written, not after Nagle waits for an ACK. allowHalfOpen: the
    // server, not Node, decides what a client's EOF does. pauseOnConnect: nothing is read before
    // the connection is admitted.
    const listener = net.createServer({ noDelay: true, allowHalfOpen: true, pauseOnConnect: true });
    // Node 20's net has no reusePort option: the addon makes and binds the socket, libuv adopts the fd.
    const where = options.reusePort
      ? { fd: bindReusePort(options.host, options.port) }
      : { host: options.host, port: options.port, ipv6Only: isIPv6(options.host) };
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen({ ...where, backlog: LISTEN_BACKLOG }, () => {
        listener.off('error', reject);
        resolve();
      });
    });
    return new NetServer(listener, options);
  }

  private constructor(
    private readonly listener: net.Server,
    options: ServerOptions,
  ) {
    this.trace = options.trace;
    const address = listener.address() as net.AddressInfo;
    this.address = { address: address.address, port: address.port, family: address.family === 'IPv6' ? 'IPv6' : 'IPv4' };
    this.trace?.event({ kind: 'libuv-loop', pid: process.pid });
    this.trace?.event({ kind: 'listening', fd: fdOf(listener), address: address.address, port: address.port });
    const clock: Clock = {
      now: () => performance.now(),
      every: (ms, fn) => {
        const timer = setInterval(fn, ms);
        return () => clearInterval(timer);
      },
      after: (ms, fn) => {
        const timer = setTimeout(fn, ms);
        return () => clearTimeout(timer);
      },
      requestRound: () => this.scheduleTurnEnd(),
    };
    this.table = new ConnectionTable({ service: options.service, limits: options.limits, clock, trace: this.trace, log: options.log });
    listener.on('connection', (socket) => this.admit(socket));
    // An accept error libuv passes on (EMFILE after its reserve-fd trick failed, ECONNABORTED…)
    // is logged and skipped: it must not end the server.
    listener.on('error', (error) => options.log(`selectchat: accept ${errorCode(error)}: skipped`));
  }

  get connections(): number {
    return this.table.size;
  }

  shutdown(): Promise<void> {
    if (this.stopping) return this.stopping;
    this.trace?.event({ kind: 'shutdown', flushMs: SHUTDOWN_FLUSH_MS });
    // close() stops accepting now; its callback waits for every socket it accepted to close,
    // which the table's shutdown sees to.
    const listenerClosed = new Promise<void>((resolve) => this.listener.close(() => resolve()));
    this.stopping = this.table.shutdown().then(() => listenerClosed);
    return this.stopping;
  }

  /** setImmediate runs after libuv's poll phase has dispatched every ready socket, so one write
   *  per connection carries the whole turn; process.nextTick would flush after each 'data'. */
  private scheduleTurnEnd(): void {
    if (this.turnScheduled) return;
    this.turnScheduled = true;
    setImmediate(this.endTurn);
  }

  /** The end of a turn: write what it queued. Except after a turn that only admitted
   *  connections: libuv (since 1.45) accepts one connection per loop iteration, and every join
   *  is announced to every member, so writing after each such turn would write to the whole
   *  room once per newcomer (500,000 writes for 1000 joins). Such a turn's output waits for the
   *  next turn (setImmediate again: no timer, no sleep) until one admits nobody — the burst is
   *  over — or reads input, or MAX_DEFERRED_TURNS have passed. Our loop batches the same way
   *  by accepting up to 64 connections per readable event. */
  private readonly endTurn = (): void => {
    const admissionsOnly = this.admittedThisTurn && !this.readThisTurn;
    this.admittedThisTurn = this.readThisTurn = false;
    if (admissionsOnly && this.deferredTurns < MAX_DEFERRED_TURNS && !this.stopping) {
      this.deferredTurns++;
      setImmediate(this.endTurn);
      return;
    }
    this.deferredTurns = 0;
    this.turnScheduled = false;
    this.table.endRound();
    if (this.frameLog.users === 0) this.frameLog.reset();
  };

  /** A socket read input this turn: its output (and everything queued) goes out at the turn's end. */
  readInput(): void {
    this.readThisTurn = true;
  }

  /** A new connection: serve it, or refuse it at --max-clients. */
  private admit(socket: net.Socket): void {
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    if (!this.table.hasRoom) {
      this.trace?.event({ kind: 'refuse', fd: fdOf(socket), remote, why: 'max-clients', limit: this.table.limits.maxClients, said: SERVER_FULL });
      // One best-effort line, then close; a client already gone only makes the write fail.
      socket.on('error', () => {});
      socket.resume();
      socket.end(SERVER_FULL_FRAME, () => socket.destroy());
      return;
    }
    this.admittedThisTurn = true;
    const conn = this.table.add(this.trace ? fdOf(socket) : -1, remote, (added) => new NetLink(this, added, socket));
    if (conn.reading) socket.resume();
  }
}
