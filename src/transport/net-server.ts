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

/** A connection's net.Socket: the frames of this turn, the blocks handed to Node and not yet
 *  written, and whose bytes they all are. */
class NetLink implements Link {
  readonly fd: number;
  /** Frames queued since the last write, and their total size. A fresh array each turn: young
   *  and next to the other members' in memory, where a fan-out turn fills them all at once. */
  private frames: Buffer[] = [];
  private queuedBytes = 0;
  /** Whose bytes the queued frames are: runs of one producer, in the order queued, told to
   *  `runs` when the frames go to Node as one block. A block is accounted as a whole (its write
   *  callback consumes it all), so nothing observes them before. A fan-out turn queues hundreds
   *  of frames to each member, and fresh arrays filled once per run keep each member's
   *  long-lived run arrays out of the fan-out loop. The producer's waiting count is raised at
   *  once, so backpressure sees every byte as it is queued. */
  private owners: (OutputOwner | null)[] = [];
  private ownerBytes: number[] = [];
  private runOwner: OutputOwner | null = null;
  private runBytes = 0;
  /** Of the queued bytes, those another producer than this connection queued. */
  private queuedForeign = 0;
  /** Echo lines go out as views of the chunk libuv read, not as copies: consecutive lines of one
   *  chunk, each ended by its '\n', are one view, chunk[viewStart, viewEnd), not yet in frames.
   *  Node allocates a fresh buffer for every read and never reuses it, so a view stays valid. */
  private chunk: Buffer | null = null;
  private view: Buffer | null = null;
  private viewStart = 0;
  private viewEnd = 0;
  /** Bytes Node holds for the socket (socket.writableLength), as of our last write() or its
   *  callback: it changes only inside write() and just before a write's callback runs, so a
   *  copy spares the fan-out path two property loads per frame. */
  private nodeHeld = 0;
  /** Sizes of the blocks handed to write() whose callback has not come yet, oldest first. */
  private readonly inFlight: number[] = [];
  /** write() returned false: frames wait here until 'drain'. */
  private blocked = false;
  private closed = false;
  private readonly runs: OwnerRuns;

  constructor(
    private readonly server: NetServer,
    private readonly conn: Connection,
    private readonly socket: net.Socket,
  ) {
    this.fd = server.trace ? fdOf(socket) : -1;
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

  queue(frame: Buffer, owner: OutputOwner | null): number {
    const bytes = frame.length;
    if (bytes > 0 && !this.closed) {
      if (this.view !== null) this.closeView();
      this.frames.push(frame);
      this.queuedBytes += bytes;
      this.charge(owner, bytes);
    }
    return this.queuedBytes + this.nodeHeld;
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

  /** The queued frames' runs go to `runs` (which counts their bytes into each producer's
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

  queueLine(bytes: Buffer, start: number, end: number, owner: OutputOwner | null): number {
    if (this.closed) return this.unsentBytes;
    const size = end - start + 1;
    if (bytes === this.chunk && bytes[end] === NEWLINE) {
      // The line and its '\n' as they came: a view, or a longer one if it follows the last.
      if (this.view === bytes && this.viewEnd === start) {
        this.viewEnd = end + 1;
      } else {
        if (this.view !== null) this.closeView();
        this.view = bytes;
        this.viewStart = start;
        this.viewEnd = end + 1;
      }
      this.queuedBytes += size;
      this.charge(owner, size);
      return this.queuedBytes + this.nodeHeld;
    }
    const frame = Buffer.allocUnsafe(size);
    bytes.copy(frame, 0, start, end);
    frame[size - 1] = NEWLINE;
    return this.queue(frame, owner);
  }

  flush(): void {
    // While write() says the socket is full, frames wait for 'drain'.
    if (!this.blocked) this.write('turn end');
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
    this.frames = [];
    this.view = this.chunk = null;
    this.queuedBytes = 0;
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

  /** The open view of echo lines becomes a frame. */
  private closeView(): void {
    this.frames.push(this.view!.subarray(this.viewStart, this.viewEnd));
    this.view = null;
  }

  /** Hands this turn's frames to Node in one write. One joined block, not cork() + a write()
   *  per frame: one WriteWrap and no per-frame stream bookkeeping, which measured faster for
   *  fan-out (see README). */
  private write(why: 'turn end' | 'drain'): void {
    const bytes = this.queuedBytes;
    if (bytes === 0) {
      if (this.nodeHeld === 0) this.conn.drained();
      return;
    }
    if (this.view !== null) this.closeView();
    const frames = this.frames;
    const count = frames.length;
    this.frames = [];
    this.queuedBytes = 0;
    this.settleRuns();
    this.inFlight.push(bytes);
    const ok = this.socket.write(count === 1 ? frames[0]! : Buffer.concat(frames, bytes), this.written);
    this.nodeHeld = this.socket.writableLength;
    this.blocked = !ok;
    this.server.trace?.event({ kind: 'write', fd: this.fd, why, bytes, frames: count, libuvQueued: libuvQueuedBytes(this.socket), full: !ok });
  }

  /** A block reached the kernel: its bytes stop waiting, and their producers hear of it. */
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
