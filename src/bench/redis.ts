// A private redis-server for the cluster scenario: on a unix socket in a temporary directory, no
// TCP port, no persistence, stopped and its directory removed afterwards. Never the machine's own
// Redis. (The same idea as the cluster tests' Redis, written for the bench.)
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { exitOf } from '../process/server-process.js';

/** Longest redis-server may take to say it accepts connections. */
const READY_LIMIT_MS = 10_000;
/** Longest it may take to exit after SIGTERM before it gets SIGKILL. */
const EXIT_LIMIT_MS = 5_000;
/** Its log kept for an error message. */
const LOG_KEEP_BYTES = 4096;

/** Every private Redis still running: none outlives the bench, whatever ends it. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** The redis-server on PATH, or null. */
export function findRedisServer(): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const path = join(dir, 'redis-server');
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  return null;
}

/** Why the cluster scenario cannot run here, or null. */
export function noRedisReason(): string | null {
  return findRedisServer() === null ? 'redis-server is not installed (Debian: apt-get install redis-server)' : null;
}

/** A running private Redis. */
export class PrivateRedis {
  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
  ) {}

  /** Starts one and resolves once it accepts connections; rejects (and cleans up) if it cannot. */
  static async start(): Promise<PrivateRedis> {
    const command = findRedisServer();
    if (command === null) throw new Error(noRedisReason() ?? 'no redis-server');
    const dir = mkdtempSync(join(tmpdir(), 'selectchat-bench-redis-'));
    const args = ['--port', '0', '--unixsocket', join(dir, 'r.sock'), '--save', '', '--appendonly', 'no', '--dir', dir];
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    child.once('exit', () => running.delete(child));
    let log = '';
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`redis-server not ready within ${READY_LIMIT_MS} ms:\n${log}`)), READY_LIMIT_MS);
        const onOutput = (text: string): void => {
          log = (log + text).slice(-LOG_KEEP_BYTES);
          if (/ready to accept connections/i.test(log)) {
            clearTimeout(timer);
            resolve();
          }
        };
        child.stdout!.setEncoding('utf8').on('data', onOutput);
        child.stderr!.setEncoding('utf8').on('data', onOutput);
        child.once('error', (error) => (clearTimeout(timer), reject(error)));
        child.once('exit', (code) => (clearTimeout(timer), reject(new Error(`redis-server exited with ${code}:\n${log}`))));
      });
    } catch (error) {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
    return new PrivateRedis(child, dir);
  }

  /** What `serve --redis` is given. */
  get url(): string {
    return `unix://${join(this.dir, 'r.sock')}`;
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Stops it (SIGTERM, SIGKILL after a while) and removes its directory. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), EXIT_LIMIT_MS);
      await exitOf(this.child);
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
