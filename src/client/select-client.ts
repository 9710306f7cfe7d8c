// The select client: one socket on the project's SelectLoop, the classic select() client. A
// non-blocking connect() finishes when select() says writable; reads feed a LineDecoder from one
// reused buffer; lines typed in a round are queued and written once, at the round's end. The
// terminal is read by Node (readline); the loop watches Node's epoll fd beside the socket, so
// one select() waits for both the server and the keyboard.
import { READABLE, WRITABLE, constants, isSystemError, native } from '../binding/native.js';
import { systemError } from '../binding/sys-error.js';
import { LineDecoder } from '../framing/line-decoder.js';
import type { SelectLoop } from '../loop/select-loop.js';
import { SendQueue } from '../loop/send-queue.js';
import { isIPv6 } from '../transport/endpoint.js';
import type { ClientHandler, ClientTransport } from './client-transport.js';

/** One receive buffer for every recv(): the decoder copies only an unfinished line. */
const RECEIVE_BUFFER_BYTES = 64 * 1024;
/** Reads per readable event before the round goes on (libuv uses 32 too). */
const MAX_READS_PER_EVENT = 32;

const { EAGAIN, EINPROGRESS } = constants;

/** connecting → open → ending (FIN once the queue is empty) → ended (FIN sent) → closed. */
type State = 'connecting' | 'open' | 'ending' | 'ended' | 'closed';

/** Connects to host:port (numeric) on loop; resolves once connected, rejects with the error
 *  Node's net would give (`connect ECONNREFUSED 127.0.0.1:7070`). */
export function connectSelect(loop: SelectLoop, host: string, port: number, maxLineBytes: number, handler: ClientHandler): Promise<ClientTransport> {
  return new Promise((resolve, reject) => {
    const fd = native.socket(isIPv6(host) ? constants.AF_INET6 : constants.AF_INET, constants.SOCK_STREAM);
    const client = new SelectClient(loop, fd, maxLineBytes, handler);
    client.connect(host, port, () => resolve(client), reject);
  });
}

class SelectClient implements ClientTransport {
  private state: State = 'connecting';
  /** Output queued since the last flush: flush at the round's end. */
  private dirty = false;
  private readonly queue = new SendQueue();
  private readonly receiveBuffer = Buffer.allocUnsafe(RECEIVE_BUFFER_BYTES);
  private readonly decoder: LineDecoder;
  private connected: () => void = () => {};
  private failed: (error: Error) => void = () => {};
  private endpoint = '';

  constructor(
    private readonly loop: SelectLoop,
    private readonly fd: number,
    maxLineBytes: number,
    private readonly handler: ClientHandler,
  ) {
    this.decoder = new LineDecoder({ maxLineBytes });
    loop.onRoundEnd(() => this.endRound());
  }

  get unsentBytes(): number {
    return this.queue.bytes;
  }

  /** Starts the handshake; select() reports writable when it has finished, either way. */
  connect(host: string, port: number, connected: () => void, failed: (error: Error) => void): void {
    this.endpoint = `${host}:${port}`;
    this.connected = connected;
    this.failed = failed;
    try {
      native.setsockopt(this.fd, constants.IPPROTO_TCP, constants.TCP_NODELAY, 1);
      this.loop.watch(this.fd, (events) => this.onEvents(events), WRITABLE);
      if (native.connect(this.fd, host, port) !== -EINPROGRESS) this.finishConnect();
    } catch (error) {
      this.connectFailed(isSystemError(error) ? systemError(-error.errno, error.syscall, this.endpoint) : (error as Error));
    }
  }

  send(frame: Buffer): void {
    if (this.state !== 'open') return;
    this.queue.push(frame);
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
    this.loop.unwatch(this.fd);
    native.close(this.fd);
    this.queue.clear();
    this.decoder.finish();
  }

  private onEvents(events: number): void {
    if (this.state === 'connecting') return this.finishConnect();
    if (events & READABLE) this.read();
    if (events & WRITABLE && this.state !== 'closed') this.flush();
  }

  /** The handshake is over: SO_ERROR says how it went. */
  private finishConnect(): void {
    const errno = native.getsockopt(this.fd, constants.SOL_SOCKET, constants.SO_ERROR);
    if (errno !== 0) return this.connectFailed(systemError(errno, 'connect', this.endpoint));
    this.state = 'open';
    this.loop.setInterest(this.fd, READABLE);
    this.connected();
  }

  private connectFailed(error: Error): void {
    this.destroy();
    this.failed(error);
  }

  /** Output from outside a round (a typed line): ask the loop for a round to flush it in. */
  private markDirty(): void {
    if (this.dirty) return;
    this.dirty = true;
    this.loop.requestRound();
  }

  /** Reads until drained, EOF, or MAX_READS_PER_EVENT; lines go to the handler. */
  private read(): void {
    const buffer = this.receiveBuffer;
    for (let i = 0; i < MAX_READS_PER_EVENT && this.state !== 'closed'; i++) {
      let n: number;
      try {
        n = native.recv(this.fd, buffer, 0, buffer.length);
      } catch (error) {
        return this.lost(error as Error);
      }
      if (n === -EAGAIN) return;
      if (n === 0) return this.lost(null);
      this.decoder.push(buffer, 0, n, this.handler);
      // A short read emptied the kernel's buffer: skip the recv() that would say EAGAIN.
      if (n < buffer.length) return;
    }
  }

  /** End of a round: write what the round queued, unless select() is already watching writable. */
  private endRound(): void {
    if (!this.dirty) return;
    this.dirty = false;
    if (this.state === 'open' || this.state === 'ending') {
      if (!(this.loop.interest(this.fd) & WRITABLE)) this.flush();
    }
  }

  /** Writes what the kernel takes; watches writable while some is left; FIN once empty if ending. */
  private flush(): void {
    const queue = this.queue;
    const hadOutput = !queue.empty;
    if (queue.buffer !== null) {
      try {
        const n = native.send(this.fd, queue.buffer, queue.offset, queue.bytes);
        if (n > 0) queue.consume(n);
      } catch (error) {
        return this.lost(error as Error);
      }
    }
    const interest = this.loop.interest(this.fd);
    if (!queue.empty) {
      if (!(interest & WRITABLE)) this.loop.setInterest(this.fd, interest | WRITABLE);
      return;
    }
    // Watching writable with nothing to write would make select() return at once, forever.
    if (interest & WRITABLE) this.loop.setInterest(this.fd, interest & ~WRITABLE);
    if (this.state === 'ending') {
      this.state = 'ended';
      try {
        native.shutdown(this.fd, constants.SHUT_WR);
      } catch (error) {
        return this.lost(error as Error);
      }
    }
    if (hadOutput) this.handler.drained();
  }

  /** The connection is gone: close it and tell the handler once. */
  private lost(error: Error | null): void {
    if (this.state === 'closed') return;
    this.destroy();
    this.handler.closed(error);
  }
}
