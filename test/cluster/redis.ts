// A private redis-server for a test: on a unix socket in a scratch directory (no TCP at all), or on
// a free loopback port when a test needs TCP, a password, or to stop and start it again. Never the
// machine's own Redis.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exitOf } from '../../src/process/server-process.js';

/** Every redis-server started here and still running. Not killLeftovers()'s: a suite's Redis
 *  outlives the servers each test kills. */
const running = new Set<ChildProcess>();
// Last resort when the test process exits without remove(): no Redis outlives it.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Longest redis-server may take to say it accepts connections. */
const READY_LIMIT_MS = 10_000;
/** Longest it may take to exit after SIGTERM. */
const EXIT_LIMIT_MS = 5_000;

/** The redis-server on PATH, or null. */
function findRedisServer(): string | null {
  const found = spawnSync('bash', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : null;
}

export const REDIS_SERVER = findRedisServer();

/** Why the cluster tests cannot run here, or null. */
export const NO_REDIS = REDIS_SERVER === null ? 'redis-server is not installed (apt-get install redis-server; .ci/run installs it)' : null;

/** A free loopback TCP port, as the kernel picks one. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface RedisOptions {
  /** Listen on a free loopback port instead of a unix socket. */
  tcp?: boolean;
  /** requirepass. */
  password?: string;
}

export class TestRedis {
  #child: ChildProcess | null = null;
  readonly #dir: string;

  private constructor(
    private readonly options: RedisOptions,
    private readonly port: number,
  ) {
    this.#dir = mkdtempSync(join(tmpdir(), 'selectchat-redis-'));
  }

  static async start(options: RedisOptions = {}): Promise<TestRedis> {
    const redis = new TestRedis(options, options.tcp ? await freePort() : 0);
    await redis.restart();
    return redis;
  }

  /** What `serve --redis` is given. */
  get url(): string {
    const password = this.options.password === undefined ? '' : `:${encodeURIComponent(this.options.password)}@`;
    return this.options.tcp ? `redis://${password}127.0.0.1:${this.port}` : `unix://${this.socketPath}${this.options.password === undefined ? '' : `?password=${encodeURIComponent(this.options.password)}`}`;
  }

  get socketPath(): string {
    return join(this.#dir, 'r.sock');
  }

  /** Starts it (again: same port or socket, empty, as a restarted Redis without persistence). */
  async restart(): Promise<void> {
    const args = ['--port', String(this.port), '--save', '', '--appendonly', 'no', '--dir', this.#dir, '--bind', '127.0.0.1'];
    if (!this.options.tcp) args.push('--unixsocket', this.socketPath);
    if (this.options.password !== undefined) args.push('--requirepass', this.options.password);
    const child = spawn(REDIS_SERVER!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    child.once('exit', () => running.delete(child));
    this.#child = child;
    let output = '';
    let onExit = (_code: number | null): void => {};
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server not ready within ${READY_LIMIT_MS} ms:\n${output}`)), READY_LIMIT_MS);
      child.stdout!.setEncoding('utf8').on('data', (text: string) => {
        output += text;
        if (/ready to accept connections/i.test(output)) {
          clearTimeout(timer);
          resolve();
        }
      });
      onExit = (code: number | null): void => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited with ${code}:\n${output}`));
      };
      child.once('exit', onExit);
    });
    child.off('exit', onExit);
  }

  /** Stops it (SIGTERM) and waits for the exit. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (child === null) return;
    this.#child = null;
    child.kill('SIGCONT');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), EXIT_LIMIT_MS);
    await exitOf(child);
    clearTimeout(timer);
  }

  /** Freezes it (SIGSTOP): it keeps its connections and answers nothing, as a hung Redis would. */
  freeze(): void {
    this.#child?.kill('SIGSTOP');
  }

  /** Lets a frozen Redis run again (SIGCONT). */
  thaw(): void {
    this.#child?.kill('SIGCONT');
  }

  /** Stops it and removes its directory. */
  async remove(): Promise<void> {
    await this.stop();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
