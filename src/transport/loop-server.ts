// Our loop's transport: a listening socket and its connections on an EventLoop, whichever
// backend it runs on (select, poll or epoll). Each connection is a NonBlockingStream; what a
// connection may do is decided by the ConnectionTable, the same one the libuv engine uses.
import { READABLE, constants, isSystemError, native, type SocketAddress } from '../binding/native.js';
import type { EventLoop } from '../loop/event-loop.js';
import { OutputQueue, SendBatch } from '../loop/output-queue.js';
import type { OutputOwner } from '../loop/owner-runs.js';
import { RoundLog } from '../loop/round-log.js';
import { NonBlockingStream, type StreamHandler } from '../loop/stream.js';
import { SERVER_FULL } from '../room/protocol.js';
import type { TraceSink } from '../trace/events.js';
import { SERVER_FULL_FRAME, errorCode } from './connection-policy.js';
import { ConnectionTable, type Clock, type Connection, type Link } from './connection-table.js';
import { isIPv6 } from './endpoint.js';
import { LISTEN_BACKLOG, SHUTDOWN_FLUSH_MS } from './limits.js';
import type { ChatServer, ServerOptions } from './server.js';

/** One receive buffer for every recv(): decoders copy only what they must keep. */
const RECEIVE_BUFFER_BYTES = 64 * 1024;
/** Connections accepted per readable event on the listening socket. */
const MAX_ACCEPTS_PER_EVENT = 64;
/** Pause before accepting again when the process is out of fds (EMFILE/ENFILE). */
const ACCEPT_RETRY_MS = 100;

/** A connection's socket on the loop: the stream moves the bytes, the connection decides. */
class LoopLink implements Link, StreamHandler {
  private readonly stream: NonBlockingStream<OutputQueue>;

  constructor(private readonly server: LoopServer, readonly conn: Connection, readonly fd: number) {
    const output = new OutputQueue(server.roundLog, conn);
    this.stream = new NonBlockingStream(server.loop, fd, this, server.receiveBuffer, server.trace, conn.decoder, output);
  }

  get unsentBytes(): number {
    return this.stream.queue.bytes;
  }

  get foreignBytes(): number {
    return this.stream.queue.foreignBytes;
  }

  get reading(): boolean {
    return this.conn.reading;
  }

  queue(frame: Buffer, owner: OutputOwner | null): number {
    return this.stream.queue.push(frame, owner);
  }

  queueLine(bytes: Buffer, start: number, end: number, owner: OutputOwner | null): number {
    return this.stream.queue.pushLine(bytes, start, end, owner);
  }

  /** At a round's end, output that is ranges of the round's log joins the server's batch (one
   *  crossing for every connection); output kept from earlier rounds, or over the hard cap, is
   *  sent at once, alone. */
  flush(why: 'round end' | 'over cap'): void {
    const stream = this.stream;
    if (why === 'round end' && stream.queue.ranges && !stream.waitingForWritable) {
      this.server.sendBatch.add(this, this.fd, stream.queue);
    } else {
      stream.flush('round end');
    }
  }

  /** The batch's result for this connection's send. */
  sent(result: number): void {
    this.stream.sent(result, 'round end');
  }

  kernelQueued(): number {
    try {
      return native.outq(this.fd);
    } catch {
      return -1;
    }
  }

  setReading(on: boolean): void {
    this.stream.setReading(on);
  }

  close(graceful: boolean): void {
    this.stream.close(graceful);
  }

  received(buffer: Buffer, start: number, end: number): number {
    return this.conn.received(buffer, start, end);
  }

  ended(): void {
    this.conn.inputEnded();
  }

  failed(error: unknown): void {
    this.conn.failed(error);
  }

  crashed(error: unknown): void {
    this.server.crashed(this.conn, error);
  }

  wrote(n: number): void {
    this.conn.wrote(n);
  }

  drained(): void {
    this.conn.drained();
  }
}

export class LoopServer implements ChatServer {
  readonly engine: 'select' | 'poll' | 'epoll';
  readonly address: SocketAddress;
  readonly loop: EventLoop;
  readonly trace: TraceSink | null;
  readonly receiveBuffer = Buffer.allocUnsafe(RECEIVE_BUFFER_BYTES);
  /** Every frame queued in a round, stored once; connections' output points into it. */
  readonly roundLog = new RoundLog();
  /** The round-end sends of every connection, made in one crossing. */
  readonly sendBatch = new SendBatch<LoopLink>(this.roundLog);
  private readonly table: ConnectionTable;
  private readonly log: (message: string) => void;
  private listenFd: number;
  private stopping: Promise<void> | null = null;

  constructor(loop: EventLoop, options: ServerOptions) {
    this.loop = loop;
    this.engine = loop.backend.name;
    this.trace = options.trace;
    this.log = options.log;
    this.listenFd = this.listen(options.host, options.port, options.reusePort === true);
    this.address = native.getsockname(this.listenFd);
    this.trace?.event({ kind: 'listening', fd: this.listenFd, address: this.address.address, port: this.address.port });
    const clock: Clock = {
      now: () => loop.roundTime,
      every: (ms, fn) => {
        const timer = loop.setInterval(ms, fn);
        return () => loop.clearTimer(timer);
      },
      after: (ms, fn) => {
        const timer = loop.setTimeout(ms, fn);
        return () => loop.clearTimer(timer);
      },
      requestRound: () => loop.requestRound(),
    };
    this.table = new ConnectionTable({
      service: options.service, limits: options.limits, clock, trace: this.trace, log: options.log,
      commitFlush: () => this.sendBatch.run((link, result) => this.table.handle(link.conn, () => link.sent(result))),
    });
    loop.watch(this.listenFd, () => this.acceptAll(), READABLE);
    loop.onRoundEnd(() => {
      this.table.endRound();
      // Whatever the kernel refused is copied out of the log before the next round reuses it.
      this.roundLog.reset();
    });
  }

  /** An exception while handling conn's socket: the table closes conn alone and logs it. */
  crashed(conn: Connection, error: unknown): void {
    this.table.crash(conn, error);
  }

  get connections(): number {
    return this.table.size;
  }

  shutdown(): Promise<void> {
    if (this.stopping) return this.stopping;
    this.trace?.event({ kind: 'shutdown', flushMs: SHUTDOWN_FLUSH_MS });
    this.loop.unwatch(this.listenFd);
    native.close(this.listenFd);
    this.listenFd = -1;
    this.stopping = this.table.shutdown();
    return this.stopping;
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

  /** The listening socket is readable: accept what is pending (a bounded number). An accept()
   *  failure never ends the loop: out of fds pauses accepting, anything else is logged and
   *  skipped, as libuv does. */
  private acceptAll(): void {
    for (let i = 0; i < MAX_ACCEPTS_PER_EVENT && this.listenFd >= 0; i++) {
      let accepted;
      try {
        accepted = native.accept(this.listenFd);
      } catch (error) {
        const code = errorCode(error);
        if (isSystemError(error) && (code === 'EMFILE' || code === 'ENFILE')) return this.pauseAccepting(code);
        this.trace?.event({ kind: 'accept-error', code, action: 'skipped', pauseMs: 0 });
        this.log(`selectchat: accept ${code}: skipped`);
        continue;
      }
      if (accepted === null) return;
      this.admit(accepted.fd, `${accepted.address}:${accepted.port}`);
    }
  }

  /** Out of fds: stop watching the listener for a moment instead of spinning on it. */
  private pauseAccepting(code: string): void {
    this.trace?.event({ kind: 'accept-error', code, action: 'paused', pauseMs: ACCEPT_RETRY_MS });
    this.log(`selectchat: accept ${code}: pausing accepts for ${ACCEPT_RETRY_MS} ms`);
    this.loop.setInterest(this.listenFd, 0);
    this.loop.setTimeout(ACCEPT_RETRY_MS, () => {
      if (this.listenFd >= 0) this.loop.setInterest(this.listenFd, READABLE);
    });
  }

  /** A new connection: serve it, or refuse it when full or when select() could not watch it. */
  private admit(fd: number, remote: string): void {
    const watchable = this.loop.canWatch(fd);
    if (!watchable || !this.table.hasRoom) {
      const why = watchable ? 'max-clients' : 'fd-setsize';
      this.trace?.event({ kind: 'refuse', fd, remote, why, limit: this.table.limits.maxClients, said: SERVER_FULL });
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
    try {
      native.setsockopt(fd, constants.IPPROTO_TCP, constants.TCP_NODELAY, 1);
    } catch (error) {
      // Reset before we got to it: nothing to serve.
      native.close(fd);
      this.trace?.event({ kind: 'error', fd, code: errorCode(error) });
      return;
    }
    this.table.add(fd, remote, (conn) => new LoopLink(this, conn, fd));
  }
}
