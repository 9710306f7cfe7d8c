// The select transport: a listening socket and its connections on a SelectLoop. Reads feed
// each connection's decoder from one shared buffer; output is queued per connection and written
// once per loop round; everything a connection may do is decided by the ConnectionTable.
import { READABLE, WRITABLE, constants, isSystemError, native, type SocketAddress } from '../binding/native.js';
import type { OutputOwner } from '../loop/owner-runs.js';
import { SelectLoop } from '../loop/select-loop.js';
import { SendQueue } from '../loop/send-queue.js';
import { SERVER_FULL } from '../room/protocol.js';
import type { TraceSink } from '../trace/events.js';
import { SERVER_FULL_FRAME, errorCode } from './connection-policy.js';
import { ConnectionTable, type Clock, type Connection, type Link } from './connection-table.js';
import { isIPv6 } from './endpoint.js';
import { LISTEN_BACKLOG, SHUTDOWN_FLUSH_MS } from './limits.js';
import type { ChatServer, ServerOptions } from './server.js';

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

/** A connection's socket on the loop: its fd, its send queue, its interest. */
class LoopLink implements Link {
  private readonly output: SendQueue;

  constructor(
    private readonly server: SelectServer,
    private readonly conn: Connection,
    readonly fd: number,
  ) {
    this.output = new SendQueue(conn);
    server.loop.watch(fd, (events) => this.onEvents(events), READABLE);
  }

  get unsentBytes(): number {
    return this.output.bytes;
  }

  get foreignBytes(): number {
    return this.output.foreignBytes;
  }

  queue(frame: Buffer, owner: OutputOwner | null): void {
    this.output.push(frame, owner);
  }

  flush(why: 'round end' | 'over cap'): void {
    // While it waits for writable the kernel's buffer is full: a send() now would say EAGAIN.
    if (this.server.loop.interest(this.fd) & WRITABLE) return;
    this.send(why === 'over cap' ? 'round end' : why);
  }

  setReading(on: boolean): void {
    const interest = this.server.loop.interest(this.fd);
    this.server.loop.setInterest(this.fd, on ? interest | READABLE : interest & ~READABLE);
  }

  close(graceful: boolean): void {
    this.server.loop.unwatch(this.fd);
    if (graceful) this.server.drain(this.fd);
    native.close(this.fd);
    this.output.clear();
  }

  private onEvents(events: number): void {
    if (events & READABLE) this.read();
    if (events & WRITABLE && this.conn.state !== 'closed') this.send('writable');
  }

  /** Reads until the socket is drained, EOF, MAX_READS_PER_EVENT, or the connection pauses. */
  private read(): void {
    const conn = this.conn;
    const buffer = this.server.receiveBuffer;
    const trace = this.server.trace;
    for (let i = 0; i < MAX_READS_PER_EVENT && conn.reading; i++) {
      let n: number;
      try {
        n = native.recv(this.fd, buffer, 0, buffer.length);
      } catch (error) {
        return conn.failed(error);
      }
      if (n === -EAGAIN) {
        trace?.event({ kind: 'recv-eagain', fd: this.fd });
        return;
      }
      if (n === 0) {
        trace?.event({ kind: 'recv-eof', fd: this.fd, queued: this.output.bytes });
        return conn.inputEnded();
      }
      const lines = conn.received(buffer, 0, n);
      trace?.event({ kind: 'recv', fd: this.fd, bytes: n, lines, kept: conn.decoder.pendingBytes });
      // A short read emptied the kernel's buffer: skip the recv() that would say EAGAIN.
      if (n < buffer.length) return;
    }
  }

  /** One send() of the queue; watches for writable while the kernel leaves some unsent. */
  private send(why: 'round end' | 'writable'): void {
    const queue = this.output;
    const conn = this.conn;
    const buffer = queue.buffer;
    if (buffer !== null) {
      const before = queue.bytes;
      let n: number;
      try {
        n = native.send(this.fd, buffer, queue.offset, before);
      } catch (error) {
        return conn.failed(error);
      }
      if (n > 0) queue.consume(n);
      this.server.trace?.event({ kind: 'send', fd: this.fd, why, sent: Math.max(n, 0), queued: before });
      conn.wrote(n);
    }
    const loop = this.server.loop;
    const interest = loop.interest(this.fd);
    if (!queue.empty) {
      if (!(interest & WRITABLE)) loop.setInterest(this.fd, interest | WRITABLE);
      return;
    }
    // Watching for writable with nothing to write would make select() return at once, forever.
    if (interest & WRITABLE) loop.setInterest(this.fd, interest & ~WRITABLE);
    conn.drained();
  }
}

export class SelectServer implements ChatServer {
  readonly engine = 'select' as const;
  readonly address: SocketAddress;
  readonly loop: SelectLoop;
  readonly trace: TraceSink | null;
  readonly receiveBuffer = Buffer.allocUnsafe(RECEIVE_BUFFER_BYTES);
  private readonly table: ConnectionTable;
  private readonly log: (message: string) => void;
  private listenFd: number;
  private stopping: Promise<void> | null = null;

  constructor(loop: SelectLoop, options: ServerOptions) {
    this.loop = loop;
    this.trace = options.trace;
    this.log = options.log;
    this.listenFd = this.listen(options.host, options.port);
    this.address = native.getsockname(this.listenFd);
    this.trace?.event({ kind: 'listening', fd: this.listenFd, address: this.address.address, port: this.address.port });
    const clock: Clock = {
      now: () => loop.now(),
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
    this.table = new ConnectionTable({ service: options.service, limits: options.limits, clock, trace: this.trace, log: options.log });
    loop.watch(this.listenFd, () => this.acceptAll(), READABLE);
    loop.onRoundEnd(this.table.endRound);
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

  /** Reads and discards what the peer sent but we never read: close() on a socket with unread
   *  data sends RST, which can destroy our last lines before the peer reads them. */
  drain(fd: number): void {
    try {
      for (let i = 0; i < MAX_DRAIN_READS; i++) {
        if (native.recv(fd, this.receiveBuffer, 0, this.receiveBuffer.length) <= 0) return;
      }
    } catch {
      // Reset by the peer: nothing left to protect.
    }
  }

  /** Creates the listening socket: non-blocking, SO_REUSEADDR, v6-only for IPv6. */
  private listen(host: string, port: number): number {
    const fd = native.socket(isIPv6(host) ? constants.AF_INET6 : constants.AF_INET, constants.SOCK_STREAM);
    try {
      native.setsockopt(fd, constants.SOL_SOCKET, constants.SO_REUSEADDR, 1);
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
    if (!SelectLoop.canWatch(fd) || !this.table.hasRoom) {
      const why = SelectLoop.canWatch(fd) ? 'max-clients' : 'fd-setsize';
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
    this.table.add(remote, (conn) => new LoopLink(this, conn, fd));
  }
}
