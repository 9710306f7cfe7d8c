// The select transport: a listening socket and its connections on a SelectLoop. Reads feed
// each connection's LineDecoder from one shared buffer; output is queued per connection and
// written once per loop round.
import { READABLE, WRITABLE, constants, isSystemError, native, type SocketAddress } from '../binding/native.js';
import { LineDecoder } from '../framing/line-decoder.js';
import { SelectLoop, type Timer } from '../loop/select-loop.js';
import type { TraceSink } from '../trace/events.js';
import { SERVER_FULL } from '../room/protocol.js';
import type { CloseReason, Peer, Service, Session } from '../room/service.js';
import { closesGracefully, errorCode, idleSweepIntervalMs, reasonForError, SERVER_FULL_FRAME } from './connection-policy.js';
import { LISTEN_BACKLOG, SHUTDOWN_FLUSH_MS, type ServerLimits } from './limits.js';
import { SendQueue } from './send-queue.js';
import { isIPv6 } from './endpoint.js';
import { type ChatServer, type ServerOptions } from './server.js';

/** One receive buffer for every recv(): decoders copy only what they must keep. */
const RECEIVE_BUFFER_BYTES = 64 * 1024;
/** Reads per readable event before moving on, so one flooding client cannot starve the rest
 *  (libuv uses 32 too). */
const MAX_READS_PER_EVENT = 32;
/** Connections accepted per readable event on the listening socket. */
const MAX_ACCEPTS_PER_EVENT = 64;
/** Pause before accepting again when the process is out of fds (EMFILE/ENFILE). */
const ACCEPT_RETRY_MS = 100;
/** recv() calls spent draining a socket before close, so close() sends FIN rather than RST. */
const MAX_DRAIN_READS = 4;

const { EAGAIN } = constants;

type State = 'open' | 'ending' | 'closed';

/** One client connection: its fd, receive decoder, send queue and session. */
class Connection implements Peer {
  state: State = 'open';
  /** Already in the server's list of connections to flush this round? */
  dirty = false;
  lastActive: number;
  readonly queue = new SendQueue();
  readonly decoder: LineDecoder;
  session!: Session;

  constructor(
    private readonly server: SelectServer,
    readonly fd: number,
    readonly remote: string,
    maxLineBytes: number,
    now: number,
  ) {
    this.decoder = new LineDecoder({ maxLineBytes });
    this.lastActive = now;
  }

  send(frame: Buffer): void {
    if (this.state === 'closed') return;
    this.queue.push(frame);
    this.server.queued(this);
  }

  end(): void {
    if (this.state !== 'open') return;
    this.state = 'ending';
    this.server.ending(this);
  }
}

export class SelectServer implements ChatServer {
  readonly engine = 'select' as const;
  readonly address: SocketAddress;
  private readonly loop: SelectLoop;
  private readonly service: Service;
  private readonly limits: ServerLimits;
  private readonly trace: TraceSink | null;
  private readonly receiveBuffer = Buffer.allocUnsafe(RECEIVE_BUFFER_BYTES);
  private readonly open = new Set<Connection>();
  /** Connections with output queued this round, flushed at the round's end. */
  private readonly dirty: Connection[] = [];
  private listenFd: number;
  private idleSweep: Timer | null = null;
  private stopping: Promise<void> | null = null;
  private allClosed: (() => void) | null = null;

  constructor(loop: SelectLoop, options: ServerOptions) {
    this.loop = loop;
    this.service = options.service;
    this.limits = options.limits;
    this.trace = options.trace;
    this.listenFd = this.listen(options.host, options.port, options.reusePort === true);
    this.address = native.getsockname(this.listenFd);
    this.trace?.event({ kind: 'listening', fd: this.listenFd, address: this.address.address, port: this.address.port });
    loop.watch(this.listenFd, () => this.acceptAll(), READABLE);
    loop.onRoundEnd(() => this.endRound());
    const idleMs = this.limits.idleTimeoutMs;
    if (idleMs > 0) this.idleSweep = loop.setInterval(idleSweepIntervalMs(idleMs), () => this.sweepIdle());
  }

  get connections(): number {
    return this.open.size;
  }

  shutdown(): Promise<void> {
    if (this.stopping) return this.stopping;
    this.stopping = new Promise((resolve) => (this.allClosed = resolve));
    this.trace?.event({ kind: 'shutdown', flushMs: SHUTDOWN_FLUSH_MS });
    this.loop.unwatch(this.listenFd);
    native.close(this.listenFd);
    this.listenFd = -1;
    if (this.idleSweep) this.loop.clearTimer(this.idleSweep);
    this.service.shutdown();
    for (const conn of this.open) conn.end();
    const deadline = this.loop.setTimeout(SHUTDOWN_FLUSH_MS, () => {
      for (const conn of [...this.open]) this.close(conn, 'server shutting down');
    });
    this.stopping.then(() => this.loop.clearTimer(deadline));
    this.checkAllClosed();
    return this.stopping;
  }

  /** Peer.send() queued output: flush it at the end of this round. */
  queued(conn: Connection): void {
    if (!conn.dirty) {
      conn.dirty = true;
      if (this.dirty.push(conn) === 1) this.loop.requestRound();
    }
  }

  /** Peer.end(): stop reading; the connection closes once its queue is flushed. */
  ending(conn: Connection): void {
    this.loop.setInterest(conn.fd, this.loop.interest(conn.fd) & ~READABLE);
    this.queued(conn);
  }

  /** Creates the listening socket: non-blocking, SO_REUSEADDR, v6-only for IPv6, and
   *  SO_REUSEPORT when workers share the port. */
  private listen(host: string, port: number, reusePort: boolean): number {
    const fd = native.socket(isIPv6(host) ? constants.AF_INET6 : constants.AF_INET, constants.SOCK_STREAM);
    try {
      native.setsockopt(fd, constants.SOL_SOCKET, constants.SO_REUSEADDR, 1);
      if (reusePort) native.setsockopt(fd, constants.SOL_SOCKET, constants.SO_REUSEPORT, 1);
      native.bind(fd, host, port);
      native.listen(fd, LISTEN_BACKLOG);
      return fd;
    } catch (error) {
      native.close(fd);
      throw error;
    }
  }

  /** The listening socket is readable: accept what is pending (a bounded number). */
  private acceptAll(): void {
    for (let i = 0; i < MAX_ACCEPTS_PER_EVENT; i++) {
      let accepted;
      try {
        accepted = native.accept(this.listenFd);
      } catch (error) {
        if (isSystemError(error) && (error.code === 'EMFILE' || error.code === 'ENFILE')) {
          this.pauseAccepting(error.code);
          return;
        }
        throw error;
      }
      if (accepted === null) return;
      this.admit(accepted.fd, `${accepted.address}:${accepted.port}`);
    }
  }

  /** Out of fds: stop watching the listener for a moment instead of spinning on it. */
  private pauseAccepting(code: string): void {
    process.stderr.write(`selectchat: accept ${code}: pausing accepts for ${ACCEPT_RETRY_MS} ms\n`);
    this.loop.setInterest(this.listenFd, 0);
    this.loop.setTimeout(ACCEPT_RETRY_MS, () => {
      if (this.listenFd >= 0) this.loop.setInterest(this.listenFd, READABLE);
    });
  }

  /** A new connection: serve it, or refuse it when full or when select() could not watch it. */
  private admit(fd: number, remote: string): void {
    if (!SelectLoop.canWatch(fd) || this.open.size >= this.limits.maxClients) {
      const why = SelectLoop.canWatch(fd) ? 'max-clients' : 'fd-setsize';
      this.trace?.event({ kind: 'refuse', fd, remote, why, limit: this.limits.maxClients, said: SERVER_FULL });
      // One best-effort write, never select(): this fd must never reach FD_SET.
      try {
        native.send(fd, SERVER_FULL_FRAME, 0, SERVER_FULL_FRAME.length);
        native.shutdown(fd, constants.SHUT_WR);
      } catch {
        // The client is already gone; closing is all that is left.
      }
      native.close(fd);
      return;
    }
    native.setsockopt(fd, constants.IPPROTO_TCP, constants.TCP_NODELAY, 1);
    const conn = new Connection(this, fd, remote, this.limits.maxLineBytes, this.loop.now());
    this.open.add(conn);
    this.trace?.event({ kind: 'accept', fd, remote });
    this.loop.watch(fd, (events) => this.onEvents(conn, events), READABLE);
    conn.session = this.service.open(conn);
  }

  private onEvents(conn: Connection, events: number): void {
    if (events & READABLE) this.read(conn);
    if (events & WRITABLE && conn.state !== 'closed') this.flush(conn, 'writable');
  }

  /** Reads until the socket is drained, EOF, or MAX_READS_PER_EVENT; lines go to the session. */
  private read(conn: Connection): void {
    const buffer = this.receiveBuffer;
    for (let i = 0; i < MAX_READS_PER_EVENT && conn.state === 'open'; i++) {
      let n: number;
      try {
        n = native.recv(conn.fd, buffer, 0, buffer.length);
      } catch (error) {
        this.failed(conn, error);
        return;
      }
      if (n === -EAGAIN) {
        this.trace?.event({ kind: 'recv-eagain', fd: conn.fd });
        return;
      }
      if (n === 0) {
        this.trace?.event({ kind: 'recv-eof', fd: conn.fd, queued: 0 });
        this.close(conn, 'closed');
        return;
      }
      if (this.idleSweep) conn.lastActive = this.loop.now();
      const frames = conn.decoder.push(buffer, 0, n, conn.session);
      this.trace?.event({ kind: 'recv', fd: conn.fd, bytes: n, lines: frames, kept: conn.decoder.pendingBytes });
      // A short read emptied the kernel's buffer: skip the recv() that would say EAGAIN.
      if (n < buffer.length) return;
    }
  }

  /** One send() of the queue; watches for writable while the kernel leaves some unsent. */
  private flush(conn: Connection, why: 'writable' | 'round end'): void {
    const queue = conn.queue;
    if (!queue.empty) {
      const before = queue.bytes;
      let n: number;
      try {
        n = queue.sendTo(conn.fd);
      } catch (error) {
        this.failed(conn, error);
        return;
      }
      this.trace?.event({ kind: 'send', fd: conn.fd, why, sent: n, queued: before });
    }
    const interest = this.loop.interest(conn.fd);
    if (!queue.empty) {
      if (!(interest & WRITABLE)) this.loop.setInterest(conn.fd, interest | WRITABLE);
      return;
    }
    // Watching for writable with nothing to write would make select() return at once, forever.
    if (interest & WRITABLE) this.loop.setInterest(conn.fd, interest & ~WRITABLE);
    if (conn.state === 'ending') this.close(conn, this.stopping ? 'server shutting down' : 'closed');
  }

  /** End of a loop round: write each connection's batched output once, then drop a reader
   *  whose unsent output (what the kernel refused) is over --max-queue. */
  private endRound(): void {
    // Index loop: dropping a slow reader queues more output (the others see it leave).
    for (let i = 0; i < this.dirty.length; i++) {
      const conn = this.dirty[i]!;
      conn.dirty = false;
      if (conn.state === 'closed') continue;
      // While it waits for writable the kernel buffer is full: a send() now would say EAGAIN.
      if (!(this.loop.interest(conn.fd) & WRITABLE)) this.flush(conn, 'round end');
      // (A connection the flush closed has an empty queue.)
      if (conn.queue.bytes > this.limits.maxQueueBytes) {
        this.trace?.event({ kind: 'too-slow', fd: conn.fd, unsent: conn.queue.bytes, rule: 'hard', limit: this.limits.maxQueueBytes });
        this.close(conn, 'too slow');
      }
    }
    this.dirty.length = 0;
  }

  /** A system call on conn failed: ECONNRESET (RST) is routine, anything else closes it too. */
  private failed(conn: Connection, error: unknown): void {
    const code = errorCode(error);
    this.trace?.event({ kind: 'error', fd: conn.fd, code });
    this.close(conn, reasonForError(code));
  }

  /** Closes conn exactly once and tells its session why. */
  private close(conn: Connection, reason: CloseReason): void {
    if (conn.state === 'closed') return;
    const graceful = closesGracefully(reason);
    conn.state = 'closed';
    this.open.delete(conn);
    this.loop.unwatch(conn.fd);
    if (graceful) this.drain(conn.fd);
    native.close(conn.fd);
    conn.queue.clear();
    const dropped = conn.decoder.finish();
    this.trace?.event({ kind: 'closed', fd: conn.fd, reason, dropped });
    conn.session.closed(reason);
    this.checkAllClosed();
  }

  /** Reads and discards what the peer sent but we never read: close() on a socket with unread
   *  data sends RST, which can destroy our last lines before the peer reads them. */
  private drain(fd: number): void {
    try {
      for (let i = 0; i < MAX_DRAIN_READS; i++) {
        if (native.recv(fd, this.receiveBuffer, 0, this.receiveBuffer.length) <= 0) return;
      }
    } catch {
      // Reset by the peer: nothing left to protect.
    }
  }

  /** Closes clients that sent nothing for --idle-timeout. */
  private sweepIdle(): void {
    const limit = this.loop.now() - this.limits.idleTimeoutMs;
    for (const conn of [...this.open]) {
      if (conn.lastActive < limit && conn.state === 'open') this.close(conn, 'idle timeout');
    }
  }

  private checkAllClosed(): void {
    if (this.allClosed && this.open.size === 0) {
      this.allClosed();
      this.allClosed = null;
    }
  }
}
