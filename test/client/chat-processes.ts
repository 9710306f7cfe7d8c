// Real processes for the client's tests: a selectchat server child, selectchat clients, and a
// plain net socket playing the other person in the room. Every wait is bounded.
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { constants, native } from '../../src/binding/native.js';
import { CLI, ENGINES, startServer, type ServerProcess } from '../helpers/server.js';

export { CLI };
/** The client's engines: the project's loop on each backend, and Node's net. */
export const CLIENT_ENGINES = ['select', 'poll', 'epoll', 'libuv'];
/** [server engine, client engine]: every engine on both sides of a connection, and our select()
 *  loop against libuv both ways (SELECTCHAT_ENGINES picks the server engines). */
export const ENGINE_PAIRS: [string, string][] = [
  ...ENGINES.map((engine): [string, string] => [engine, engine]),
  ...(ENGINES.includes('select') && ENGINES.includes('libuv') ? [['select', 'libuv'], ['libuv', 'select']] as [string, string][] : []),
];

/** Longest any single wait in these tests may take: a bound, never a sleep. */
export const WAIT_MS = 5_000;

/** Rejects with `what` if promise has not settled within ms. */
export function within<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Resolves with the exit code (or the signal's name) once child has exited. */
export function exited(child: ChildProcess): Promise<number | string> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  if (child.signalCode !== null) return Promise.resolve(child.signalCode);
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal!)));
}

/** A server child on a free port: the suites' one way to start a server. */
export type ServerChild = ServerProcess;
export { startServer };

/** What a finished client printed. */
export interface ClientRun {
  code: number | string;
  stdout: string;
  stderr: string;
}

/** A `selectchat connect` child in scripted mode (stdin and stdout are pipes). */
export function spawnClient(args: string[]): ChildProcess {
  return spawn(process.execPath, [CLI, 'connect', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Collects a child's output until it exits (bounded). */
export async function finished(child: ChildProcess, ms = WAIT_MS): Promise<ClientRun> {
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
  try {
    const code = await within(exited(child), 'the client to exit', ms);
    // 'exit' can come before the pipes have delivered everything: wait for them to close.
    await within(new Promise((resolve) => (child.stdout!.closed ? resolve(null) : child.stdout!.once('close', resolve))), 'stdout to close');
    return { code, stdout, stderr };
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}; stdout: ${JSON.stringify(stdout)}; stderr: ${JSON.stringify(stderr)}`);
  }
}

/** Waits until the child prints text on stdout from now on (call after finished(), which reads it). */
export function printed(child: ChildProcess, text: string): Promise<void> {
  let seen = '';
  const found = new Promise<void>((resolve) => {
    const onData = (chunk: string): void => {
      seen += chunk;
      if (!seen.includes(text)) return;
      child.stdout!.off('data', onData);
      resolve();
    };
    child.stdout!.on('data', onData);
  });
  return within(found, `${JSON.stringify(text)} on stdout; it printed ${JSON.stringify(seen)}`);
}

/** Runs `selectchat connect ARGS` with input on stdin (then EOF) and collects what it printed. */
export function runClient(args: string[], input: string | Buffer, ms = WAIT_MS): Promise<ClientRun> {
  const child = spawnClient(args);
  child.stdin!.on('error', () => {}); // The client may exit before reading all of it.
  child.stdin!.end(input);
  return finished(child, ms);
}

/** A port nothing listens on, held by this process until release(). */
export function closedPort(): { port: number; release: () => void } {
  // Bound but never listening: a connect is refused, and no other process can take the port
  // (and answer) while it is held, as it could if it were let go at once.
  const fd = native.socket(constants.AF_INET, constants.SOCK_STREAM);
  native.bind(fd, '127.0.0.1', 0);
  return { port: native.getsockname(fd).port, release: () => native.close(fd) };
}

/** The other person in the room: a plain net socket that reads lines. */
export class Peer {
  readonly lines: string[] = [];
  private buffered = '';
  private waiters: (() => void)[] = [];
  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      const parts = (this.buffered + chunk).split('\n');
      this.buffered = parts.pop()!;
      this.lines.push(...parts);
      for (const wake of this.waiters.splice(0)) wake();
    });
    socket.on('error', () => {});
  }

  /** Connects to the server and, if asked, takes a nick (waiting until the server confirms). */
  static async join(server: ServerChild, nick?: string): Promise<Peer> {
    const socket = connect({ host: server.host, port: server.port });
    await within(new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject)), 'the peer to connect');
    const peer = new Peer(socket);
    await peer.waitFor((line) => line.startsWith('* welcome '));
    if (nick) {
      peer.send(`/nick ${nick}`);
      await peer.waitFor((line) => line.endsWith(` is now ${nick}`));
    }
    return peer;
  }

  send(text: string): void {
    this.socket.write(`${text}\n`);
  }

  /** Waits for a line (received from now or earlier) that matches; returns it. */
  async waitFor(match: (line: string) => boolean, what = 'a line'): Promise<string> {
    const found = (): string | undefined => this.lines.find(match);
    const seen = new Promise<string>((resolve) => {
      const check = (): void => {
        const line = found();
        if (line !== undefined) resolve(line);
        else this.waiters.push(check);
      };
      check();
    });
    return within(seen, `${what}; the peer has: ${JSON.stringify(this.lines)}`);
  }

  close(): void {
    this.socket.destroy();
  }
}
