// The test peer behind `selectchat send`: plain node:net sockets that write raw bytes in chosen
// pieces, hold connections open without reading, and close with FIN or RST — the situations a
// select() loop must survive, made on demand. It is not a chat client: it frames nothing.
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** Connections opened at once; the next wave waits, so the listen backlog never overflows. */
const CONNECT_WAVE = 64;
/** A polite close first reads until the server has been quiet this long (ms)... */
export const QUIET_BEFORE_FIN_MS = 200;
/** ...then sends FIN and waits at most this long (ms) for the server to close its side. */
const CLOSE_LIMIT_MS = 2000;

/** What `selectchat send` asked for. */
export interface PeerPlan {
  host: string;
  port: number;
  /** The bytes every connection sends (already repeated); may be empty. */
  payload: Buffer;
  /** Bytes per write(); 0 writes the payload in one write(). */
  chunkBytes: number;
  /** Pause between two chunks (ms). */
  delayMs: number;
  connections: number;
  /** Time the connections stay open after the last byte is sent (ms). */
  holdMs: number;
  /** Close with RST (SO_LINGER 0) instead of FIN. */
  reset: boolean;
  /** Where received bytes go; null: nothing is read while holding, the rest is discarded. */
  output: ((bytes: Buffer) => void) | null;
}

/** How the run went: the first failure (connect or send) and how many the server ended first. */
export interface PeerOutcome {
  failure: string | null;
  closedByServer: number;
  resetByServer: number;
}

/** One connection and what happened to it. */
interface Peer {
  readonly socket: Socket;
  /** The server closed (EOF) or reset the connection before we closed it. */
  serverEnded: 'closed' | 'reset' | null;
  /** We sent FIN or RST: what follows is our close, not the server's doing. */
  closing: boolean;
}

/** Opens the connections, sends, holds, closes; never throws for network trouble. */
export async function runPeers(plan: PeerPlan): Promise<PeerOutcome> {
  const peers: Peer[] = [];
  const sends: Promise<void>[] = [];
  let failure: string | null = null;
  /** Records the first failure, naming the connection when there are several. */
  const fail = (index: number) => (error: Error): void => {
    failure ??= `${plan.connections > 1 ? `connection ${index + 1} of ${plan.connections}: ` : ''}${error.message}`;
  };
  try {
    for (let first = 0; first < plan.connections; first += CONNECT_WAVE) {
      const wave = Array.from({ length: Math.min(CONNECT_WAVE, plan.connections - first) }, (_, i) => first + i);
      // Each connection starts sending as soon as it is up; a failed connect stops the run.
      await Promise.all(wave.map((index) => open(plan, peers).then((peer) => {
        sends.push(sendPayload(plan, peer).catch(fail(index)));
      }, fail(index))));
      if (failure !== null) return outcome(failure, peers);
    }
    await Promise.all(sends);
    if (plan.holdMs > 0) await sleep(plan.holdMs);
  } finally {
    await Promise.all(peers.map((peer) => close(plan, peer)));
  }
  return outcome(failure, peers);
}

/** Tallies the connections the server ended before we did. */
function outcome(failure: string | null, peers: Peer[]): PeerOutcome {
  const ended = (how: 'closed' | 'reset'): number => peers.filter((peer) => peer.serverEnded === how).length;
  return { failure, closedByServer: ended('closed'), resetByServer: ended('reset') };
}

/** Connects one socket with Nagle off, so every write leaves as its own segment. */
function open(plan: PeerPlan, peers: Peer[]): Promise<Peer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: plan.host, port: plan.port, noDelay: true });
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      const peer: Peer = { socket, serverEnded: null, closing: false };
      socket.on('error', (error: NodeJS.ErrnoException) => {
        if (!peer.closing) peer.serverEnded = error.code === 'ECONNRESET' || error.code === 'EPIPE' ? 'reset' : 'closed';
      });
      socket.on('end', () => {
        if (!peer.closing) peer.serverEnded ??= 'closed';
      });
      // Read only for --read; otherwise received bytes wait in the kernel, as a slow reader's do.
      if (plan.output) socket.on('data', plan.output);
      peers.push(peer);
      resolve(peer);
    });
  });
}

/** Writes the payload chunk by chunk, each flushed to the kernel before the pause and the next. */
async function sendPayload(plan: PeerPlan, peer: Peer): Promise<void> {
  const { payload } = plan;
  const step = plan.chunkBytes > 0 ? plan.chunkBytes : payload.length;
  for (let offset = 0; offset < payload.length; offset += step) {
    if (offset > 0 && plan.delayMs > 0) await sleep(plan.delayMs);
    await write(peer.socket, payload.subarray(offset, offset + step), offset, payload.length);
  }
}

/** One write(), resolved when libuv has handed all of it to the kernel. */
function write(socket: Socket, bytes: Buffer, sentBefore: number, total: number): Promise<void> {
  const failed = (why: string): Error =>
    new Error(sentBefore > 0 ? `sending failed after ${sentBefore} of ${total} bytes: ${why}` : `sending ${total} bytes failed: ${why}`);
  return new Promise((resolve, reject) => {
    if (socket.destroyed || socket.writableEnded) {
      reject(failed('the server closed the connection'));
      return;
    }
    socket.write(bytes, (error) => {
      if (error) reject(failed(error.message));
      else resolve();
    });
  });
}

/** --reset: RST at once. Otherwise: read (print or discard) until the server is quiet, send FIN,
 *  and wait (bounded) for the server's FIN, so nothing unread turns our close into an RST. */
async function close(plan: PeerPlan, peer: Peer): Promise<void> {
  const { socket } = peer;
  if (socket.destroyed) return;
  if (plan.reset) {
    peer.closing = true;
    socket.resetAndDestroy();
    return;
  }
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const quiet = new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, QUIET_BEFORE_FIN_MS);
    socket.on('data', () => timer.refresh());
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  socket.resume();
  await quiet;
  peer.closing = true;
  socket.end();
  const limit = setTimeout(() => socket.destroy(), CLOSE_LIMIT_MS);
  await closed;
  clearTimeout(limit);
}
