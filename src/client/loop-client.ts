// The loop client: one socket on the project's EventLoop (select, poll or epoll) — the classic
// select() client. A non-blocking connect() finishes when the loop says writable; then the
// socket is a NonBlockingStream, the same one the server's connections use: reads feed a
// LineDecoder from one reused buffer, lines typed in a round are written once, at its end. The
// terminal is read by Node (readline); the loop watches Node's epoll fd beside the socket, so
// one wait covers both the server and the keyboard.
import { WRITABLE, constants, isSystemError, native } from '../binding/native.js';
import { systemError } from '../binding/sys-error.js';
import { LineDecoder } from '../framing/line-decoder.js';
import type { EventLoop } from '../loop/event-loop.js';
import { SendQueue } from '../loop/send-queue.js';
import { NonBlockingStream, type StreamHandler } from '../loop/stream.js';
import type { TraceSink } from '../trace/events.js';
import { isIPv6 } from '../transport/endpoint.js';
import type { ClientHandler, ClientTransport } from './client-transport.js';

/** One receive buffer for every recv(): the decoder copies only an unfinished line. */
const RECEIVE_BUFFER_BYTES = 64 * 1024;

/** open → ending (FIN once the queue is empty) → ended (FIN sent) → closed. */
type State = 'open' | 'ending' | 'ended' | 'closed';

/** Connects to host:port (numeric) on loop; resolves once connected, rejects with the error
 *  Node's net would give (`connect ECONNREFUSED 127.0.0.1:7070`). */
export function connectLoop(
  loop: EventLoop, host: string, port: number, maxLineBytes: number, handler: ClientHandler, trace: TraceSink | null = null,
): Promise<ClientTransport> {
  return new Promise((resolve, reject) => {
    const endpoint = `${host}:${port}`;
    const fd = native.socket(isIPv6(host) ? constants.AF_INET6 : constants.AF_INET, constants.SOCK_STREAM);
    const fail = (error: unknown): void => {
      loop.unwatch(fd);
      native.close(fd);
      reject(isSystemError(error) ? systemError(-error.errno, error.syscall, endpoint) : error);
    };
    /** The handshake is over: SO_ERROR says how it went. */
    const finish = (): void => {
      const errno = native.getsockopt(fd, constants.SOL_SOCKET, constants.SO_ERROR);
      if (errno !== 0) return fail(systemError(errno, 'connect', endpoint));
      loop.unwatch(fd);
      resolve(new LoopClient(loop, fd, maxLineBytes, handler, trace));
    };
    try {
      native.setsockopt(fd, constants.IPPROTO_TCP, constants.TCP_NODELAY, 1);
      // A non-blocking connect() says EINPROGRESS; the socket turns writable when it is done.
      loop.watch(fd, finish, WRITABLE);
      if (native.connect(fd, host, port) !== -constants.EINPROGRESS) finish();
    } catch (error) {
      fail(error);
    }
  });
}

class LoopClient implements ClientTransport, StreamHandler {
  private state: State = 'open';
  /** Output queued since the last flush: flush at the round's end. */
  private dirty = false;
  private readonly decoder: LineDecoder;
  private readonly stream: NonBlockingStream<SendQueue>;

  constructor(
    private readonly loop: EventLoop,
    fd: number,
    maxLineBytes: number,
    private readonly handler: ClientHandler,
    trace: TraceSink | null,
  ) {
    this.decoder = new LineDecoder({ maxLineBytes });
    this.stream = new NonBlockingStream(loop, fd, this, Buffer.allocUnsafe(RECEIVE_BUFFER_BYTES), trace, this.decoder, new SendQueue());
    loop.onRoundEnd(() => this.endRound());
  }

  get unsentBytes(): number {
    return this.stream.queue.bytes;
  }

  get reading(): boolean {
    return this.state !== 'closed';
  }

  send(frame: Buffer): void {
    if (this.state !== 'open') return;
    this.stream.queue.push(frame);
    this.markDirty();
  }

  end(): void {
    if (this.state !== 'open') return;
    this.state = 'ending';
    this.markDirty();
  }

  destroy(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.stream.close(false);
    this.decoder.finish();
  }

  // StreamHandler: what the socket reports.

  received(buffer: Buffer, start: number, end: number): number {
    return this.decoder.push(buffer, start, end, this.handler);
  }

  ended(): void {
    this.lost(null);
  }

  failed(error: unknown): void {
    this.lost(error as Error);
  }

  crashed(error: unknown): void {
    this.lost(error as Error);
  }

  wrote(): void {}

  /** Everything is sent: FIN if we are leaving, and tell the terminal. */
  drained(): void {
    if (this.state === 'ending') {
      this.state = 'ended';
      try {
        native.shutdown(this.stream.fd, constants.SHUT_WR);
      } catch (error) {
        return this.lost(error as Error);
      }
    }
    this.handler.drained();
  }

  /** Output from outside a round (a typed line): ask the loop for a round to flush it in. */
  private markDirty(): void {
    if (this.dirty) return;
    this.dirty = true;
    this.loop.requestRound();
  }

  /** End of a round: write what the round queued. */
  private endRound(): void {
    if (!this.dirty) return;
    this.dirty = false;
    if (this.state === 'open' || this.state === 'ending') this.stream.flush('round end');
  }

  /** The connection is gone: close it and tell the handler once. */
  private lost(error: Error | null): void {
    if (this.state === 'closed') return;
    this.destroy();
    this.handler.closed(error);
  }
}
