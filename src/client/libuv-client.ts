// The libuv client: the same connection on Node's net.Socket, for comparison with our loop's
// client. libuv does the waiting; the LineDecoder does the framing, exactly as in loop-client.ts.
import { connect, type Socket } from 'node:net';
import { LineDecoder } from '../framing/line-decoder.js';
import type { ClientHandler, ClientTransport } from './client-transport.js';

/** Connects to host:port; resolves once connected, rejects with net's error
 *  (`connect ECONNREFUSED 127.0.0.1:7070`). */
export function connectLibuv(host: string, port: number, maxLineBytes: number, handler: ClientHandler): Promise<ClientTransport> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, noDelay: true });
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(new LibuvClient(socket, maxLineBytes, handler));
    });
  });
}

class LibuvClient implements ClientTransport {
  private closed = false;
  private corked = false;
  private readonly decoder: LineDecoder;

  constructor(
    private readonly socket: Socket,
    maxLineBytes: number,
    private readonly handler: ClientHandler,
  ) {
    this.decoder = new LineDecoder({ maxLineBytes });
    socket.on('data', (chunk: Buffer) => this.decoder.push(chunk, 0, chunk.length, handler));
    socket.on('end', () => this.lost(null));
    socket.on('error', (error) => this.lost(error));
  }

  get unsentBytes(): number {
    return this.socket.writableLength;
  }

  send(frame: Buffer): void {
    if (this.closed || this.socket.writableEnded) return;
    // Frames sent in one turn (a pasted block, a chunk of stdin) leave in one writev().
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(this.uncork);
    }
    this.socket.write(frame, this.written);
  }

  end(): void {
    if (!this.closed) this.socket.end();
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    this.decoder.finish();
  }

  private readonly uncork = (): void => {
    this.corked = false;
    this.socket.uncork();
  };

  /** A write finished: report when nothing is left queued. One function for every write. */
  private readonly written = (error?: Error | null): void => {
    if (!error && !this.closed && this.socket.writableLength === 0) this.handler.drained();
  };

  /** The connection is gone: close it and tell the handler once. */
  private lost(error: Error | null): void {
    if (this.closed) return;
    this.destroy();
    this.handler.closed(error);
  }
}
