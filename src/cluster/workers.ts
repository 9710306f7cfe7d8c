// `selectchat serve --workers N`: the primary process. It reserves the port, forks N workers of
// this same command that each listen on it with SO_REUSEPORT (each with its own loop, and on the
// select engine its own FD_SETSIZE), prints the one ready line once all listen, forwards
// SIGINT/SIGTERM, and restarts a worker that dies. The workers share the room through Redis.
//
// child_process.fork rather than the cluster module: the cluster module's workers get their
// listening handle from the primary (or its round-robin), while here each worker makes its own
// SO_REUSEPORT socket — the select engine cannot use a libuv handle at all — and the kernel
// spreads connections. IPC carries only "listening".
import { fork, type ChildProcess } from 'node:child_process';
import { native } from '../binding/native.js';
import { isLoopback } from '../transport/endpoint.js';
import { formatReadyLine } from '../transport/ready-line.js';
import { bindReusePort } from '../transport/reuse-port.js';

/** Environment of a worker: its number (1..N), so serve knows it is one. */
export const WORKER_ENV = 'SELECTCHAT_WORKER';
/** Environment: the Redis URL, which also keeps a password out of the workers' argv (ps). */
export const REDIS_URL_ENV = 'SELECTCHAT_REDIS_URL';
/** Environment of a restarted worker: the node id of the worker it replaces, reaped at once. */
export const REPLACES_ENV = 'SELECTCHAT_REPLACES';

/** Longest the workers may take to listen at start. */
const START_LIMIT_MS = 30_000;
/** A worker that died is restarted after this, doubling while it keeps dying, up to RESTART_MAX_MS. */
const RESTART_FIRST_MS = 200;
const RESTART_MAX_MS = 10_000;
/** A worker that lived this long is healthy again: its next restart waits RESTART_FIRST_MS. */
const HEALTHY_AFTER_MS = 10_000;

/** What a worker tells the primary over IPC once it listens. */
export interface ListeningMessage {
  type: 'listening';
  node: string | null;
}

export interface PrimaryOptions {
  workers: number;
  host: string;
  port: number;
  engine: string;
  mode: string;
  /** The serve flags every worker gets, besides --host and --port (no --workers, no --redis). */
  flags: string[];
  redisUrl: string;
}

/** One worker slot: its process now, and how often it died in a row. */
interface Slot {
  index: number;
  child: ChildProcess | null;
  node: string | null;
  startedAt: number;
  failures: number;
  listening: boolean;
  restart: NodeJS.Timeout | null;
}

function log(line: string): void {
  process.stderr.write(`selectchat: ${line}\n`);
}

/** Runs the primary until a signal has stopped every worker; resolves with the exit code. */
export async function runPrimary(options: PrimaryOptions): Promise<number> {
  // Bound but never listening: it reserves the port (port 0 becomes a real one every worker can
  // bind), and the kernel hands connections only to listening sockets.
  const reserved = bindReusePort(options.host, options.port);
  const { address, port } = native.getsockname(reserved);
  const slots: Slot[] = Array.from({ length: options.workers }, (_, index) => ({
    index, child: null, node: null, startedAt: 0, failures: 0, listening: false, restart: null,
  }));
  let stopping = false;
  let started!: () => void;
  let failedToStart!: (why: string) => void;
  const allListening = new Promise<void>((resolve, reject) => {
    started = resolve;
    failedToStart = (why) => reject(new Error(why));
  });
  let allExited: (() => void) | null = null;
  let exitCode = 0;

  const start = (slot: Slot, replaces: string | null): void => {
    const env: NodeJS.ProcessEnv = { ...process.env, [WORKER_ENV]: String(slot.index + 1), [REDIS_URL_ENV]: options.redisUrl };
    if (replaces !== null) env[REPLACES_ENV] = replaces;
    else delete env[REPLACES_ENV];
    // Its own session (detached): Ctrl-C reaches only the primary, which stops the workers once.
    const child = fork(process.argv[1]!, ['serve', ...options.flags, '--host', address, '--port', String(port)], {
      env,
      detached: true,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    slot.child = child;
    slot.startedAt = performance.now();
    slot.listening = false;
    child.on('message', (message: ListeningMessage) => {
      if (message?.type !== 'listening') return;
      slot.listening = true;
      slot.node = message.node;
      if (slots.every((s) => s.listening)) started();
    });
    child.once('exit', (code, signal) => exited(slot, child, code, signal));
  };

  const exited = (slot: Slot, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void => {
    if (slot.child !== child) return;
    slot.child = null;
    const how = signal === null ? `exit status ${code}` : `signal ${signal}`;
    if (stopping) {
      if (code !== 0) exitCode = 1;
      if (slots.every((s) => s.child === null)) allExited?.();
      return;
    }
    if (!slot.listening) {
      failedToStart(`worker ${slot.index + 1} ended before it listened (${how})`);
      return;
    }
    slot.failures = performance.now() - slot.startedAt >= HEALTHY_AFTER_MS ? 0 : slot.failures + 1;
    const wait = Math.min(RESTART_FIRST_MS * 2 ** Math.max(0, slot.failures - 1), RESTART_MAX_MS);
    log(`worker ${slot.index + 1} (pid ${child.pid}) died (${how}); its members are reported gone; restarting it in ${wait} ms`);
    const replaces = slot.node;
    slot.restart = setTimeout(() => {
      slot.restart = null;
      if (!stopping) start(slot, replaces);
    }, wait);
  };

  const stopAll = (signal: NodeJS.Signals): void => {
    for (const slot of slots) {
      if (slot.restart) clearTimeout(slot.restart);
      slot.child?.kill(signal);
    }
  };

  for (const slot of slots) start(slot, null);
  const timer = setTimeout(() => failedToStart(`the workers did not all listen within ${START_LIMIT_MS} ms`), START_LIMIT_MS);
  try {
    await allListening;
  } catch (error) {
    stopping = true;
    stopAll('SIGKILL');
    native.close(reserved);
    throw error;
  } finally {
    clearTimeout(timer);
  }

  if (!isLoopback(address)) log(`warning: listening on ${address}, reachable from other machines`);
  const pids = slots.map((s) => s.child!.pid).join(', ');
  log(`${options.workers} workers (pids ${pids}) share port ${port} with SO_REUSEPORT`);
  process.stdout.write(`${formatReadyLine(address, port, options.engine, options.mode)}\n`);

  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      // A second signal: stop at once.
      process.once('SIGINT', () => (stopAll('SIGKILL'), process.exit(130)));
      process.once('SIGTERM', () => (stopAll('SIGKILL'), process.exit(143)));
      log(`${signal}: stopping the workers`);
      stopping = true;
      allExited = resolve;
      stopAll('SIGTERM');
      if (slots.every((s) => s.child === null)) resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  native.close(reserved);
  return exitCode;
}
