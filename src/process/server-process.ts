// A server under test or under load as a child process: spawned, awaited on its ready line,
// watched (stderr, fds, memory), stopped by a signal. The benchmark and the test suites both
// start servers through this one class.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { relative } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { CLI_ENTRY, PACKAGE_ROOT } from '../package.js';
import { parseReadyLine } from '../transport/ready-line.js';
import { processMemory, type ProcessMemory } from './proc.js';

/** Longest a server may take to print its ready line. */
const READY_LIMIT_MS = 10_000;
/** Longest stop() waits after its signal before it sends SIGKILL. */
const EXIT_LIMIT_MS = 5_000;
/** Longest waitForStderr() waits unless told. */
const STDERR_LIMIT_MS = 3_000;
/** Longest settleFdCount() polls unless told. */
const SETTLE_LIMIT_MS = 5_000;
/** Pause between two looks at /proc/PID/fd while waiting for the count to settle. */
const FD_POLL_MS = 20;
/** Stderr kept per server unless told: a flood of --trace lines must not fill the parent's memory. */
const DEFAULT_STDERR_KEEP_BYTES = 1024 * 1024;

/** How a child ended. */
export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** How stop() ended a server: killed means it ignored the signal and got SIGKILL. */
export interface ServerExit extends Exit {
  killed: boolean;
}

export interface StartOptions {
  /** The last bytes of stderr kept (default 1 MiB). */
  stderrKeepBytes?: number;
  /** Longest wait for the ready line (default 10 s). */
  readyLimitMs?: number;
}

/** Every server child not yet exited: killAllServers() ends them. */
const running = new Set<ChildProcess>();
// Last resort when the parent exits without stopping them: no server outlives it.
process.once('exit', killAllServers);

/** SIGKILLs every server still running (a signal stopped the bench; a test left one behind). */
export function killAllServers(): void {
  for (const child of running) child.kill('SIGKILL');
}

/** Resolves when every server killAllServers() would kill has exited. */
export async function serversExited(): Promise<void> {
  await Promise.all([...running].map(exitOf));
}

/** Resolves when child exits (at once if it already has). */
export function exitOf(child: ChildProcess): Promise<Exit> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/** The argv of `selectchat serve` on engine with flags, run by this package's compiled CLI. */
export function serveCommand(engine: string, flags: readonly string[], cli = CLI_ENTRY): { command: string; args: string[] } {
  return { command: process.execPath, args: [cli, 'serve', '--engine', engine, ...flags] };
}

/** A running server: where it listens, its pid, its stderr so far, and how to stop it. */
export class ServerProcess {
  readonly exited: Promise<Exit>;
  #stderr = '';
  readonly #stderrKeep: number;
  readonly #stderrWaiters = new Set<() => void>();

  private constructor(
    readonly child: ChildProcess,
    readonly host: string,
    readonly port: number,
    readonly engine: string,
    readonly mode: string,
    /** The command line, with paths inside the package made relative (results.json keeps it). */
    readonly commandLine: string,
    stderrSoFar: string,
    stderrKeep: number,
  ) {
    this.exited = exitOf(child);
    this.#stderrKeep = stderrKeep;
    this.#stderr = stderrSoFar;
    child.stderr!.on('data', (text: string) => {
      this.#stderr = (this.#stderr + text).slice(-this.#stderrKeep);
      for (const wake of this.#stderrWaiters) wake();
    });
  }

  /** Spawns command and resolves once it printed its ready line; rejects with its stderr when it
   *  exits first or stays silent. */
  static start(command: string, args: readonly string[], options: StartOptions = {}): Promise<ServerProcess> {
    const keep = options.stderrKeepBytes ?? DEFAULT_STDERR_KEEP_BYTES;
    const readyLimit = options.readyLimitMs ?? READY_LIMIT_MS;
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    child.once('exit', () => running.delete(child));
    const shown = [command === process.execPath ? 'node' : command, ...args].map((a) => (a.startsWith(PACKAGE_ROOT) ? relative(PACKAGE_ROOT, a) : a));
    child.stdout!.setEncoding('utf8');
    child.stderr!.setEncoding('utf8');
    return new Promise((resolve, reject) => {
      let stdout = '';
      let stderr = '';
      const onStderr = (text: string): void => void (stderr = (stderr + text).slice(-keep));
      const fail = (why: string): void => {
        cleanup();
        child.kill('SIGKILL');
        reject(new Error(`server never got ready (${why}); stderr:\n${stderr.trim()}`));
      };
      const timer = setTimeout(() => fail(`no ready line within ${readyLimit} ms`), readyLimit);
      const onError = (error: Error): void => fail(`could not start: ${error.message}`);
      const onExit = (code: number | null, signal: string | null): void => fail(`exited with code ${code}, signal ${signal}`);
      const onStdout = (text: string): void => {
        stdout += text;
        const ready = parseReadyLine(stdout);
        if (ready === null) return;
        cleanup();
        // Keep draining stdout so the server can never block on a full pipe.
        child.stdout!.resume();
        resolve(new ServerProcess(child, ready.host, ready.port, ready.engine, ready.mode, shown.join(' '), stderr, keep));
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        child.stdout!.off('data', onStdout);
        child.stderr!.off('data', onStderr);
        child.off('exit', onExit);
        child.off('error', onError);
      };
      child.stdout!.on('data', onStdout);
      child.stderr!.on('data', onStderr);
      child.once('exit', onExit);
      child.once('error', onError);
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** What the server wrote to stderr so far (the last stderrKeepBytes of it). */
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

  /** Sends signal and waits for the exit; after limitMs it sends SIGKILL (killed: true). */
  async stop(signal: NodeJS.Signals = 'SIGTERM', limitMs = EXIT_LIMIT_MS): Promise<ServerExit> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return { ...(await this.exited), killed: false };
    this.child.kill(signal);
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      this.child.kill('SIGKILL');
    }, limitMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return { ...exit, killed };
  }

  /** The exit, or a rejection carrying stderr if the server is still running after limitMs. */
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

  /** Its resident memory now and at its peak, or null once it has exited. */
  memory(): ProcessMemory | null {
    return processMemory(this.pid);
  }
}
