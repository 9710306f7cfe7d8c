// The server under test as a real child process: `selectchat serve --port 0 [flags]`, started,
// awaited on its ready line, stopped by a signal; afterEach kills whatever a test left running.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

/** The compiled CLI (`npm test` builds it first); SELECTCHAT_CLI points the suite at another build. */
export const CLI = process.env.SELECTCHAT_CLI ?? fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

/** The engines a suite runs against: SELECTCHAT_ENGINES=select,libuv (the default). */
export const ENGINES = (process.env.SELECTCHAT_ENGINES ?? 'select,libuv').split(',').map((e) => e.trim()).filter(Boolean);

/** Longest a server may take to print its ready line. */
const READY_LIMIT_MS = 10_000;
/** Longest stop() waits for an exit before it reports a failure. */
const EXIT_LIMIT_MS = 5_000;
/** Longest waitForStderr() waits unless told. */
const STDERR_LIMIT_MS = 3_000;
/** Longest settleFdCount() polls unless told. */
const SETTLE_LIMIT_MS = 5_000;
/** Pause between two looks at /proc/PID/fd while waiting for the count to settle. */
const FD_POLL_MS = 20;

/** `listening on HOST:PORT (engine E, mode M)`; IPv6 hosts print without brackets. */
const READY_LINE = /^listening on (.+):(\d+) \(engine (\S+), mode (\S+)\)$/;

/** Every child a test started and that has not exited yet. */
const running = new Set<ChildProcess>();
// Last resort when a worker exits without its afterAll: no server outlives the suite.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** How a child process ended. */
export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Resolves when child exits (at once if it already has). */
function exitOf(child: ChildProcess): Promise<Exit> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/** Spawns a child tracked for killLeftovers(). */
export function spawnTracked(command: string, args: string[]): ChildProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

/** SIGKILLs every child still running and waits for them: afterEach/afterAll of every suite. */
export async function killLeftovers(): Promise<void> {
  const left = [...running];
  for (const child of left) child.kill('SIGKILL');
  await Promise.all(left.map(exitOf));
}

/** A running server: where it listens, its pid, its stderr so far, and how to stop it. */
export class ServerProcess {
  #stderr = '';
  #stderrWaiters = new Set<() => void>();
  readonly exited: Promise<Exit>;
  host = '';
  port = 0;
  engine = '';
  mode = '';

  constructor(readonly child: ChildProcess) {
    this.exited = exitOf(child);
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => {
      this.#stderr += text;
      for (const wake of this.#stderrWaiters) wake();
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Everything the server wrote to stderr so far. */
  get stderr(): string {
    return this.#stderr;
  }

  /** Waits until stderr has a line matching pattern; returns the match. */
  waitForStderr(pattern: RegExp, timeoutMs = STDERR_LIMIT_MS): Promise<RegExpMatchArray> {
    const multiline = new RegExp(pattern.source, pattern.flags.replace('g', '') + (pattern.flags.includes('m') ? '' : 'm'));
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const match = this.#stderr.match(multiline);
        if (!match) return false;
        done();
        resolve(match);
        return true;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no stderr line matched ${pattern} within ${timeoutMs} ms; stderr:\n${this.#stderr.slice(-4000)}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.#stderrWaiters.delete(check);
      };
      if (!check()) this.#stderrWaiters.add(check);
    });
  }

  /** Sends signal and waits for the exit; fails if the server is still up after limitMs. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', limitMs = EXIT_LIMIT_MS): Promise<Exit> {
    this.child.kill(signal);
    return this.waitForExit(limitMs);
  }

  /** Waits for the exit, at most limitMs. */
  async waitForExit(limitMs = EXIT_LIMIT_MS): Promise<Exit> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`server pid ${this.pid} still running ${limitMs} ms later; stderr:\n${this.#stderr.slice(-4000)}`)), limitMs);
    });
    try {
      return await Promise.race([this.exited, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The fds the server has open, as numbers, from /proc/PID/fd. */
  openFds(): number[] {
    return readdirSync(`/proc/${this.pid}/fd`).map(Number);
  }

  /** Polls /proc/PID/fd until the server has `expected` fds open or limitMs passed; returns the last count. */
  async settleFdCount(expected: number, limitMs = SETTLE_LIMIT_MS): Promise<number> {
    const deadline = performance.now() + limitMs;
    let count = this.openFds().length;
    while (count !== expected && performance.now() < deadline) {
      await delay(FD_POLL_MS);
      count = this.openFds().length;
    }
    return count;
  }

  /** The server's resident memory in bytes, from /proc/PID/status. */
  rssBytes(): number {
    const line = readFileSync(`/proc/${this.pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
    return Number(line!.split(/\s+/)[1]) * 1024;
  }
}

/** The argv of `selectchat serve` on engine with flags; select is the default engine. */
export function serveArgs(engine: string, flags: string[]): string[] {
  return [CLI, 'serve', ...(engine === 'select' ? [] : ['--engine', engine]), ...flags];
}

/** Starts a server on engine (port 0 unless flags say otherwise) and waits for its ready line. */
export async function startServer(engine: string, flags: string[] = []): Promise<ServerProcess> {
  const withPort = flags.includes('--port') ? flags : ['--port', '0', ...flags];
  const server = new ServerProcess(spawnTracked(process.execPath, serveArgs(engine, withPort)));
  const ready = await readyLine(server);
  const match = READY_LINE.exec(ready);
  if (!match) throw new Error(`unexpected first line on stdout: ${JSON.stringify(ready)}`);
  server.host = match[1]!;
  server.port = Number(match[2]);
  server.engine = match[3]!;
  server.mode = match[4]!;
  if (server.engine !== engine) throw new Error(`asked for engine ${engine}, the server says ${server.engine}`);
  return server;
}

/** The first stdout line, or a failure carrying stderr when the server exits or stays silent. */
function readyLine(server: ServerProcess): Promise<string> {
  const stdout = server.child.stdout!;
  stdout.setEncoding('utf8');
  return new Promise((resolve, reject) => {
    let text = '';
    const fail = (why: string): void => {
      cleanup();
      reject(new Error(`server never got ready (${why}); stderr:\n${server.stderr}`));
    };
    const timer = setTimeout(() => fail(`no ready line within ${READY_LIMIT_MS} ms`), READY_LIMIT_MS);
    const onData = (chunk: string): void => {
      text += chunk;
      const end = text.indexOf('\n');
      if (end < 0) return;
      cleanup();
      // Keep draining stdout so the server can never block on a full pipe.
      stdout.resume();
      resolve(text.slice(0, end));
    };
    const onExit = (code: number | null, signal: string | null): void => fail(`exited with code ${code}, signal ${signal}`);
    const cleanup = (): void => {
      clearTimeout(timer);
      stdout.off('data', onData);
      server.child.off('exit', onExit);
    };
    stdout.on('data', onData);
    server.child.once('exit', onExit);
  });
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
