// The libuv transport: the select server's service, decoder, limits and close rules on Node's
// `net` module. libuv's epoll loop inside Node says when a socket is readable and finishes partial
// writes; this file feeds each 'data' chunk to the connection's LineDecoder, batches a turn's
// output into one write per connection, and holds output back while write() says the socket is full.
import net from 'node:net';
import type { SocketAddress } from '../binding/native.js';
import { LineDecoder } from '../framing/line-decoder.js';
import { SERVER_FULL } from '../room/protocol.js';
import type { CloseReason, Peer, Service, Session } from '../room/service.js';
import { closesGracefully, errorCode, idleSweepIntervalMs, reasonForError, SERVER_FULL_FRAME } from './connection-policy.js';
import { LISTEN_BACKLOG, SHUTDOWN_FLUSH_MS, type ServerLimits } from './limits.js';
import { isIPv6 } from './endpoint.js';
import { bindReusePort } from './reuse-port.js';
import { type ChatServer, type ServerOptions } from './server.js';

type State = 'open' | 'ending' | 'closed';

/** What --trace may read of a socket's libuv handle (private to Node: read only for the trace). */
interface HandleView {
  _handle?: { fd?: unknown; writeQueueSize?: unknown } | null;
}

/** The socket's fd, for trace lines only; -1 if Node does not expose it. */
function fdOf(socket: net.Socket): number {
  const fd = (socket as HandleView)._handle?.fd;
  return typeof fd === 'number' ? fd : -1;
}

/** Bytes libuv still holds for the kernel (its write queue), for trace lines only. */
function libuvQueuedBytes(socket: net.Socket): number {
  const size = (socket as HandleView)._handle?.writeQueueSize;
  return typeof size === 'number' ? size : 0;
}

/** One client connection: its socket, receive decoder, this turn's frames and session. */
class Connection implements Peer {
  state: State = 'open';
  /** Already in the server's list of connections to flush this turn? */
  dirty = false;
  /** write() returned false: frames wait here until 'drain'. */
  blocked = false;
  lastActive: number;
  /** Frames queued since the last write, and their total size. */
  readonly frames: Buffer[] = [];
  queuedBytes = 0;
  readonly decoder: LineDecoder;
  session!: Session;

  constructor(
    private readonly server: NetServer,
    readonly socket: net.Socket,
    /** For trace lines only. */
    readonly fd: number,
    maxLineBytes: number,
    now: number,
  ) {
    this.decoder = new LineDecoder({ maxLineBytes });
    this.lastActive = now;
  }

  send(frame: Buffer): void {
    // After socket.end() nothing more can be written: the select server drops these too.
    if (this.state === 'closed' || this.socket.writableEnded || frame.length === 0) return;
    this.frames.push(frame);
    this.queuedBytes += frame.length;
    this.server.queued(this);
  }

  end(): void {
    if (this.state !== 'open') return;
    this.state = 'ending';
    this.server.queued(this);
  }

  /** Output not yet taken by the kernel as --max-queue counts it: ours plus Node's write queue. */
  get unsentBytes(): number {
    return this.queuedBytes + this.socket.writableLength;
  }
}

export class NetServer implements ChatServer {
  readonly engine = 'libuv' as const;
  readonly address: SocketAddress;
  private readonly service: Service;
  private readonly limits: ServerLimits;
  private readonly trace: ServerOptions['trace'];
  private readonly open = new Set<Connection>();
  /** Connections with frames queued this turn, written once when the turn ends. */
  private readonly dirty: Connection[] = [];
  private flushScheduled = false;
  private idleSweep: NodeJS.Timeout | null = null;
  private stopping: Promise<void> | null = null;

  /** Listens on options.host:port; rejects with the listen error (EADDRINUSE, ...). */
  static async listen(options: ServerOptions): Promise<NetServer> {
    // noDelay: frames go out when written, not after Nagle waits for an ACK. allowHalfOpen: the
    // server, not Node, decides what a client's EOF does.
    const listener = net.createServer({ noDelay: true, allowHalfOpen: true });
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
    this.service = options.service;
    this.limits = options.limits;
    this.trace = options.trace;
    const address = listener.address() as net.AddressInfo;
    this.address = { address: address.address, port: address.port, family: address.family === 'IPv6' ? 'IPv6' : 'IPv4' };
    this.trace?.event({ kind: 'libuv-loop', pid: process.pid });
    this.trace?.event({ kind: 'listening', fd: fdOf(listener as unknown as net.Socket), address: address.address, port: address.port });
    listener.on('connection', (socket) => this.admit(socket));
    // An accept error libuv passes on (EMFILE after its reserve-fd trick failed) must not crash the server.
    listener.on('error', (error) => process.stderr.write(`selectchat: accept ${errorCode(error)}: ${error.message}\n`));
    const idleMs = this.limits.idleTimeoutMs;
    if (idleMs > 0) this.idleSweep = setInterval(() => this.sweepIdle(), idleSweepIntervalMs(idleMs));
  }

  get connections(): number {
    return this.open.size;
  }

  shutdown(): Promise<void> {
    if (this.stopping) return this.stopping;
    this.trace?.event({ kind: 'shutdown', flushMs: SHUTDOWN_FLUSH_MS });
    // server.close() stops accepting now and calls back once every socket it accepted has closed.
    this.stopping = new Promise((resolve) => this.listener.close(() => resolve()));
    if (this.idleSweep) clearInterval(this.idleSweep);
    this.service.shutdown();
    for (const conn of this.open) conn.end();
    const deadline = setTimeout(() => {
      for (const conn of [...this.open]) this.close(conn, 'server shutting down');
    }, SHUTDOWN_FLUSH_MS);
    this.stopping.then(() => clearTimeout(deadline));
    return this.stopping;
  }

  /** Peer.send() or end(): write at the end of this turn. */
  queued(conn: Connection): void {
    if (!conn.dirty) {
      conn.dirty = true;
      this.dirty.push(conn);
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        // setImmediate runs after libuv's poll phase has dispatched every ready socket, so one
        // write carries the whole turn; process.nextTick would flush after each 'data' event.
        setImmediate(this.endTurn);
      }
    }
  }

  /** A new connection: serve it, or refuse it at --max-clients. */
  private admit(socket: net.Socket): void {
    const fd = this.trace ? fdOf(socket) : -1;
    const remote = this.trace ? `${socket.remoteAddress}:${socket.remotePort}` : '';
    if (this.open.size >= this.limits.maxClients) {
      this.trace?.event({ kind: 'refuse', fd, remote, why: 'max-clients', limit: this.limits.maxClients, said: SERVER_FULL });
      // One best-effort line, then close; a client already gone only makes the write fail.
      socket.on('error', () => {});
      socket.resume();
      socket.end(SERVER_FULL_FRAME, () => socket.destroy());
      return;
    }
    const conn = new Connection(this, socket, fd, this.limits.maxLineBytes, performance.now());
    this.open.add(conn);
    this.trace?.event({ kind: 'accept', fd, remote });
    socket.on('data', (chunk: Buffer) => this.read(conn, chunk));
    socket.on('end', () => this.peerEnded(conn));
    socket.on('error', (error) => this.failed(conn, error));
    socket.on('drain', () => this.drained(conn));
    socket.on('finish', () => this.finished(conn));
    conn.session = this.service.open(conn);
  }

  /** A chunk libuv read: its complete lines go to the session, the rest stays in the decoder. */
  private read(conn: Connection, chunk: Buffer): void {
    if (conn.state !== 'open') return;
    if (this.idleSweep) conn.lastActive = performance.now();
    const frames = conn.decoder.push(chunk, 0, chunk.length, conn.session);
    this.trace?.event({ kind: 'data', fd: conn.fd, bytes: chunk.length, lines: frames, kept: conn.decoder.pendingBytes });
  }

  /** End of the event-loop turn: write each connection's frames once, then drop a reader whose
   *  unsent output (what the kernel did not take) is over --max-queue. */
  private readonly endTurn = (): void => {
    // Index loop: dropping a slow reader queues more output (the others see it leave).
    for (let i = 0; i < this.dirty.length; i++) {
      const conn = this.dirty[i]!;
      conn.dirty = false;
      if (conn.state === 'closed') continue;
      // While write() says the socket is full, frames wait here for 'drain'.
      if (!conn.blocked) this.flush(conn, 'turn end');
      if (conn.unsentBytes > this.limits.maxQueueBytes) {
        this.trace?.event({ kind: 'too-slow', fd: conn.fd, unsent: conn.unsentBytes, rule: 'hard', limit: this.limits.maxQueueBytes });
        this.close(conn, 'too slow');
      }
    }
    this.dirty.length = 0;
    this.flushScheduled = false;
  };

  /** Hands the queued frames to Node in one write; an ending connection then gets end(). */
  private flush(conn: Connection, why: 'turn end' | 'drain'): void {
    const socket = conn.socket;
    if (conn.queuedBytes > 0) {
      const frames = conn.frames;
      const bytes = conn.queuedBytes;
      const count = frames.length;
      // One joined block, not cork() + a write() per frame: one WriteWrap and no per-frame
      // stream bookkeeping, which measured faster for fan-out (see README).
      const ok = socket.write(count === 1 ? frames[0]! : Buffer.concat(frames, bytes));
      frames.length = 0;
      conn.queuedBytes = 0;
      conn.blocked = !ok;
      this.trace?.event({ kind: 'write', fd: conn.fd, why, bytes, frames: count, libuvQueued: libuvQueuedBytes(socket), full: !ok });
    }
    // end() lets Node finish the queued writes, then sends FIN; 'finish' then closes the connection.
    if (conn.state === 'ending' && !socket.writableEnded) socket.end();
  }

  /** Node's write queue emptied after write() returned false: write what queued meanwhile. */
  private drained(conn: Connection): void {
    conn.blocked = false;
    if (conn.state !== 'closed') this.flush(conn, 'drain');
  }

  /** The peer sent FIN. An ending connection is finishing its output and closes by itself. */
  private peerEnded(conn: Connection): void {
    if (conn.state !== 'open') return;
    this.trace?.event({ kind: 'data-end', fd: conn.fd, queued: 0 });
    this.close(conn, 'closed');
  }

  /** Everything written is in the kernel and FIN is sent: close the fd. */
  private finished(conn: Connection): void {
    if (conn.state === 'ending') this.close(conn, 'closed');
    conn.socket.destroy();
  }

  /** A socket call failed: ECONNRESET/EPIPE is routine, anything else closes it too. */
  private failed(conn: Connection, error: Error): void {
    const code = errorCode(error);
    this.trace?.event({ kind: 'error', fd: conn.fd, code });
    this.close(conn, reasonForError(code));
  }

  /**
   * Closes conn exactly once and tells its session why. A graceful close with nothing left in
   * Node's queue sends FIN (end(), then 'finish' destroys); otherwise the socket is destroyed now
   * and what Node still held is dropped, as the select server drops its queue.
   */
  private close(conn: Connection, reason: CloseReason): void {
    if (conn.state === 'closed') return;
    conn.state = 'closed';
    this.open.delete(conn);
    conn.frames.length = 0;
    conn.queuedBytes = 0;
    const socket = conn.socket;
    if (!closesGracefully(reason) || socket.writableLength > 0 || socket.writableFinished) socket.destroy();
    else if (!socket.writableEnded) socket.end();
    const dropped = conn.decoder.finish();
    this.trace?.event({ kind: 'closed', fd: conn.fd, reason, dropped });
    conn.session.closed(reason);
  }

  /** Closes clients that sent nothing for --idle-timeout. */
  private sweepIdle(): void {
    const limit = performance.now() - this.limits.idleTimeoutMs;
    for (const conn of [...this.open]) {
      if (conn.lastActive < limit && conn.state === 'open') this.close(conn, 'idle timeout');
    }
  }
}
