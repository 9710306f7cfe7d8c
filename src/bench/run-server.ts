// One server under test as a fresh child process: spawned, awaited on its ready line, stopped.
import { spawn, type ChildProcess } from 'node:child_process';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BENCH_MAX_CLIENTS, type BenchEngine } from './scenarios.js';
import { PACKAGE_ROOT } from './machine.js';
import { processMemory, type ProcessMemory } from './proc.js';

/** Longest a server may take to print its ready line. */
const READY_LIMIT_MS = 10_000;
/** Longest a server may take to exit after SIGTERM before it is killed. */
const EXIT_LIMIT_MS = 5_000;
/** Stderr kept per server, for the report of a failed run. */
const STDERR_KEEP_BYTES = 4096;

/** `listening on HOST:PORT (engine E, mode M)`; IPv6 hosts print without brackets. */
const READY_LINE = /^listening on (.+):(\d+) \(engine (\S+), mode (\S+)\)$/m;

/** The C programs built beside the addon. */
export const BIN_DIR = `${PACKAGE_ROOT}build/Release/`;
/** The CLI the TypeScript servers run from: this build's own. */
const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));

/** Every server child still running: killed if the runner itself is stopped. */
const running = new Set<ChildProcess>();

/** The command line that starts an engine's server in a mode on a free loopback port. */
export function serverCommand(engine: BenchEngine, mode: 'echo' | 'chat'): { command: string; args: string[] } {
  if (engine === 'c-ref') {
    return { command: `${BIN_DIR}selectchat-cref`, args: ['--host', '127.0.0.1', '--port', '0', '--mode', mode] };
  }
  const args = ['serve', '--engine', engine, '--mode', mode, '--host', '127.0.0.1', '--port', '0'];
  return { command: process.execPath, args: [CLI, ...args, '--max-clients', String(BENCH_MAX_CLIENTS)] };
}

/** How a server ended. */
export interface ServerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** It ignored SIGTERM for EXIT_LIMIT_MS and was killed. */
  killed: boolean;
}

/** A running server child. */
export class ServerProcess {
  private stderrText = '';

  private constructor(
    private readonly child: ChildProcess,
    readonly pid: number,
    readonly host: string,
    readonly port: number,
    readonly commandLine: string,
  ) {
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderrText = (this.stderrText + chunk.toString('utf8')).slice(-STDERR_KEEP_BYTES);
    });
  }

  /** Spawns engine's server in mode and resolves once it listens. */
  static start(engine: BenchEngine, mode: 'echo' | 'chat'): Promise<ServerProcess> {
    const { command, args } = serverCommand(engine, mode);
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    child.once('exit', () => running.delete(child));
    // Recorded relative to the package, so a published results.json holds no machine paths.
    const shown = [command === process.execPath ? 'node' : command, ...args].map((a) => (a.startsWith(PACKAGE_ROOT) ? relative(PACKAGE_ROOT, a) : a));
    const commandLine = shown.join(' ');
    return new Promise((resolve, reject) => {
      let stdout = '';
      let stderr = '';
      let settled = false;
      const fail = (why: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        child.kill('SIGKILL');
        reject(new Error(`${engine} server ${why}${stderr ? `: ${stderr.trim()}` : ''}`));
      };
      const timer = setTimeout(() => fail(`printed no ready line within ${READY_LIMIT_MS} ms`), READY_LIMIT_MS);
      child.once('error', (error) => fail(`could not start (${error.message})`));
      child.once('exit', (code, signal) => fail(`exited before it was ready (${signal ?? `code ${code}`})`));
      child.stderr?.on('data', (chunk: Buffer) => void (stderr += chunk.toString('utf8')));
      child.stdout?.on('data', (chunk: Buffer) => {
        if (settled) return;
        stdout += chunk.toString('utf8');
        const ready = READY_LINE.exec(stdout);
        if (!ready || child.pid === undefined) return;
        settled = true;
        clearTimeout(timer);
        resolve(new ServerProcess(child, child.pid, ready[1] as string, Number(ready[2]), commandLine));
      });
    });
  }

  /** Its resident memory now and at its peak, or null if it has exited. */
  memory(): ProcessMemory | null {
    return processMemory(this.pid);
  }

  /** What it wrote to stderr (the last few KiB). */
  get stderr(): string {
    return this.stderrText;
  }

  /** SIGTERM, then SIGKILL if it has not exited within EXIT_LIMIT_MS. */
  async stop(): Promise<ServerExit> {
    const child = this.child;
    if (child.exitCode !== null || child.signalCode !== null) {
      return { code: child.exitCode, signal: child.signalCode, killed: false };
    }
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    child.kill('SIGTERM');
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, EXIT_LIMIT_MS);
    const { code, signal } = await exited;
    clearTimeout(timer);
    return { code, signal, killed };
  }
}

/** SIGKILLs every server still running: the runner is being stopped. */
export function killAllServers(): void {
  for (const child of running) child.kill('SIGKILL');
}
