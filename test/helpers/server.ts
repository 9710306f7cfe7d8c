// The server under test as a real child process: `selectchat serve --port 0 [flags]`, started,
// awaited on its ready line, stopped by a signal; afterEach kills whatever a test left running.
import { spawn, type ChildProcess } from 'node:child_process';
import { CLI_ENTRY } from '../../src/package.js';
import { exitOf, killAllServers, serveCommand, serversExited, ServerProcess as Server, type Exit } from '../../src/process/server-process.js';

export type { Exit };

/** The compiled CLI (`npm test` builds it first); SELECTCHAT_CLI points the suite at another build. */
export const CLI = process.env.SELECTCHAT_CLI ?? CLI_ENTRY;

/** The engines a suite runs against: SELECTCHAT_ENGINES=select,libuv (default: all four). */
export const ENGINES = (process.env.SELECTCHAT_ENGINES ?? 'select,poll,epoll,libuv').split(',').map((e) => e.trim()).filter(Boolean);

/** Longest stop() waits for an exit before it reports a failure. */
const EXIT_LIMIT_MS = 5_000;

/** Every other child a test started and that has not exited yet. */
const running = new Set<ChildProcess>();
// Last resort when a worker exits without its afterAll: no child outlives the suite.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Spawns a child tracked for killLeftovers(). */
export function spawnTracked(command: string, args: string[]): ChildProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

/** SIGKILLs every server and child still running and waits for them: afterEach/afterAll of every suite. */
export async function killLeftovers(): Promise<void> {
  const left = [...running];
  for (const child of left) child.kill('SIGKILL');
  killAllServers();
  await Promise.all([...left.map(exitOf), serversExited()]);
}

/** A running server, as the suites use it: stop() fails when the server ignores the signal. */
export class ServerProcess {
  constructor(private readonly server: Server) {}

  get child(): ChildProcess {
    return this.server.child;
  }
  get pid(): number {
    return this.server.pid;
  }
  get host(): string {
    return this.server.host;
  }
  get port(): number {
    return this.server.port;
  }
  get engine(): string {
    return this.server.engine;
  }
  get mode(): string {
    return this.server.mode;
  }
  /** Everything the server wrote to stderr so far. */
  get stderr(): string {
    return this.server.stderr;
  }
  waitForStderr(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray> {
    return this.server.waitForStderr(pattern, timeoutMs);
  }
  waitForExit(limitMs = EXIT_LIMIT_MS): Promise<Exit> {
    return this.server.waitForExit(limitMs);
  }
  openFds(): number[] {
    return this.server.openFds();
  }
  settleFdCount(expected: number, limitMs?: number): Promise<number> {
    return this.server.settleFdCount(expected, limitMs);
  }

  /** Sends signal and waits for the exit; fails if the server is still up after limitMs. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', limitMs = EXIT_LIMIT_MS): Promise<Exit> {
    this.child.kill(signal);
    return this.waitForExit(limitMs);
  }

  /** The server's resident memory in bytes, from /proc/PID/status. */
  rssBytes(): number {
    return this.server.memory()!.rssBytes;
  }
}

/** The argv of `selectchat serve` on engine with flags. */
export function serveArgs(engine: string, flags: string[]): string[] {
  return serveCommand(engine, flags, CLI).args;
}

/** Starts a server on engine (port 0 unless flags say otherwise) and waits for its ready line. */
export async function startServer(engine: string, flags: string[] = []): Promise<ServerProcess> {
  const withPort = flags.includes('--port') ? flags : ['--port', '0', ...flags];
  const server = new ServerProcess(await Server.start(process.execPath, serveArgs(engine, withPort)));
  if (server.engine !== engine) throw new Error(`asked for engine ${engine}, the server says ${server.engine}`);
  return server;
}

/** A CLI run to completion: its exit code and output. */
export interface CliRun extends Exit {
  stdout: string;
  stderr: string;
}

/** Runs `selectchat serve` on engine with args that should make it exit by itself. */
export async function runServe(engine: string, flags: string[], limitMs = EXIT_LIMIT_MS): Promise<CliRun> {
  const child = spawnTracked(process.execPath, serveArgs(engine, flags));
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (t: string) => (stdout += t));
  child.stderr!.setEncoding('utf8').on('data', (t: string) => (stderr += t));
  // 'close' comes after the exit and after both pipes delivered their last bytes.
  const closed = new Promise<Exit>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
  const exit = await closed;
  clearTimeout(timer);
  return { ...exit, stdout, stderr };
}
