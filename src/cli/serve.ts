// `selectchat serve`: runs the chat or echo service on the chosen transport until a signal.
import { RedisBus } from '../cluster/redis-bus.js';
import { parseRedisUrl, RedisUrlError, type RedisEndpoint } from '../cluster/redis-url.js';
import { REDIS_URL_ENV, REPLACES_ENV, runPrimary, WORKER_ENV, type ListeningMessage } from '../cluster/workers.js';
import { EventLoop } from '../loop/event-loop.js';
import { TextTrace } from '../trace/text-trace.js';
import { combineSinks } from '../trace/tee.js';
import { openRecording } from './record-flag.js';
import { ChatRoom } from '../room/chat-room.js';
import { ClusterRoom } from '../room/cluster-room.js';
import { EchoService } from '../room/echo-service.js';
import type { Service, ServiceMode } from '../room/service.js';
import { DEFAULT_LIMITS, MIN_IDLE_TIMEOUT_MS, type ServerLimits } from '../transport/limits.js';
import { NetServer } from '../transport/net-server.js';
import { LoopServer } from '../transport/loop-server.js';
import { ENGINES, type ChatServer, type Engine, type ServerOptions } from '../transport/server.js';
import { DEFAULT_HOST, DEFAULT_PORT, isLoopback, resolveHost } from '../transport/endpoint.js';
import { formatReadyLine } from '../transport/ready-line.js';
import { UsageError, choiceFlag, integerFlag, numberFlag, parseFlags } from './options.js';

/** The shortest --soft-seconds: the sweep that enforces it runs every quarter of it. */
const MIN_SOFT_SECONDS = 0.1;

/** A duration in seconds, at least min; 0 too where it means "off". */
function secondsFlag(name: string, value: string | undefined, fallback: number, min: number, zeroIsOff: boolean): number {
  const seconds = numberFlag(name, value, fallback);
  if (seconds < min && !(zeroIsOff && seconds === 0)) {
    throw new UsageError(`--${name} must be ${zeroIsOff ? '0 (off) or ' : ''}at least ${min} seconds, got '${value}'`);
  }
  return seconds;
}

export const SERVE_USAGE = `usage: selectchat serve [options]

  --host ADDR          address to listen on (default ${DEFAULT_HOST}: loopback only;
                       0.0.0.0 or :: exposes the server to the network)
  --port N             port (default ${DEFAULT_PORT}; 0 picks a free one)
  --mode chat|echo     chat room or echo service (default chat)
  --engine select|poll|epoll|libuv
                       the event loop: ours on select(), poll() or epoll, or Node's
                       net module on libuv's own epoll loop (default select);
                       everything else is shared
  --trace              print every round of our loop (what select(), poll() or
                       epoll_wait() is handed and returns) and every connection
                       action to stderr
  --record FILE        write every round and action to FILE as a Chrome trace (opens in
                       Perfetto; \`selectchat timeline FILE\` makes a page of it); with
                       --workers, each worker writes FILE-worker-N
  --max-line BYTES     longest accepted line (default ${DEFAULT_LIMITS.maxLineBytes})
  --max-queue BYTES    hard cap: unsent output per client (after a write attempt)
                       before it is dropped as too slow (default ${DEFAULT_LIMITS.maxQueueBytes}); a client's
                       lines are not read while the output they produced waits above
                       half of it (backpressure)
  --soft-queue BYTES   soft cap: output others sent a client may stay above this for
                       at most --soft-seconds (default ${DEFAULT_LIMITS.softQueueBytes})
  --soft-seconds SECS  how long a client may stay over --soft-queue, or take none of its
                       output at all, before it is dropped as too slow (default ${DEFAULT_LIMITS.softSeconds})
  --max-clients N      connections at once (default ${DEFAULT_LIMITS.maxClients}; the select
                       engine can never watch fds >= FD_SETSIZE whatever this says;
                       poll, epoll and libuv have no such limit)
  --idle-timeout SECS  drop clients silent this long (default 0: never; at least 0.1)
  --redis URL          join a cluster: one room across every server on this Redis.
                       URL: redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] or
                       unix:///PATH/redis.sock[?password=PASSWORD&db=DB]; or set
                       ${REDIS_URL_ENV} instead, which keeps a password out of ps
  --workers N          run N worker processes sharing the port (SO_REUSEPORT), in one
                       room through --redis; --max-clients counts per worker

Prints "listening on HOST:PORT (engine ENGINE, mode MODE)" when ready.
SIGINT/SIGTERM: says goodbye, flushes for at most 2 s, exits 0.
`;

const FLAGS = {
  host: { type: 'string' },
  port: { type: 'string' },
  mode: { type: 'string' },
  engine: { type: 'string' },
  trace: { type: 'boolean' },
  record: { type: 'string' },
  'max-line': { type: 'string' },
  'max-queue': { type: 'string' },
  'soft-queue': { type: 'string' },
  'soft-seconds': { type: 'string' },
  'max-clients': { type: 'string' },
  'idle-timeout': { type: 'string' },
  redis: { type: 'string' },
  workers: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Runs the server; resolves with the exit code once it has shut down. */
export async function serve(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, FLAGS);
  if (values.help) {
    process.stdout.write(SERVE_USAGE);
    return 0;
  }
  const limits: ServerLimits = {
    maxLineBytes: integerFlag('max-line', values['max-line'], DEFAULT_LIMITS.maxLineBytes, 1, 1 << 30),
    maxQueueBytes: integerFlag('max-queue', values['max-queue'], DEFAULT_LIMITS.maxQueueBytes, 1, 2 ** 40),
    softQueueBytes: integerFlag('soft-queue', values['soft-queue'], DEFAULT_LIMITS.softQueueBytes, 0, 2 ** 40),
    softSeconds: secondsFlag('soft-seconds', values['soft-seconds'], DEFAULT_LIMITS.softSeconds, MIN_SOFT_SECONDS, false),
    maxClients: integerFlag('max-clients', values['max-clients'], DEFAULT_LIMITS.maxClients, 1, 1 << 24),
    idleTimeoutMs: secondsFlag('idle-timeout', values['idle-timeout'], 0, MIN_IDLE_TIMEOUT_MS / 1000, true) * 1000,
  };
  const mode: ServiceMode = choiceFlag('mode', values.mode, ['chat', 'echo'], 'chat');
  const engine: Engine = choiceFlag('engine', values.engine, ENGINES, 'select');
  const port = integerFlag('port', values.port, DEFAULT_PORT, 0, 65535);
  const redis = redisEndpoint(values.redis ?? process.env[REDIS_URL_ENV], mode);
  if (values.workers !== undefined) {
    const workers = integerFlag('workers', values.workers, 1, 1, MAX_WORKERS);
    if (redis === null) throw new UsageError(WORKERS_NEED_REDIS);
    const host = await resolveHost(values.host ?? DEFAULT_HOST);
    return runPrimary({ workers, host, port, engine, mode, flags: workerFlags(values), redisUrl: redis.url });
  }
  const worker = process.env[WORKER_ENV] !== undefined && process.send !== undefined;
  const host = await resolveHost(values.host ?? DEFAULT_HOST);
  const text = values.trace ? new TextTrace((line) => void process.stderr.write(`${line}\n`)) : null;
  // Each worker of `--workers` records its own file: run.json → run-worker-2.json.
  const recordPath = worker && values.record ? values.record.replace(/(\.[^./]*)?$/, `-worker-${process.env[WORKER_ENV]}$1`) : values.record;
  const recording = openRecording(recordPath, 'serve', engine);
  const trace = combineSinks(text, recording);
  const who = worker ? `selectchat worker ${process.env[WORKER_ENV]}` : 'selectchat';
  const log = (line: string): void => void process.stderr.write(`${who}: ${line}\n`);
  // Made first: the bus asks it to yield when it hands Redis a command, and runs its timers on it.
  const loop = engine === 'libuv' ? null : new EventLoop(engine, trace);
  const onLoop = loop === null ? {} : {
    queued: () => loop.requestYield(),
    every: (ms: number, fn: () => void) => {
      const timer = loop.setInterval(ms, fn);
      return () => loop.clearTimer(timer);
    },
  };
  const bus = redis === null ? null : await RedisBus.connect({ endpoint: redis.endpoint, reap: replaced(), log, ...onLoop });
  try {
    let service: Service;
    if (bus !== null) {
      const room = new ClusterRoom(limits, bus);
      await bus.start(room);
      await room.ready;
      log(`node ${bus.node} joined the cluster on Redis at ${redis!.endpoint.shown}`);
      service = room;
    } else {
      service = mode === 'chat' ? new ChatRoom(limits) : new EchoService(limits);
    }
    const options: ServerOptions = { host, port, service, limits, trace, log: (message) => void process.stderr.write(`${message}\n`), reusePort: worker };
    const server = loop === null ? await NetServer.listen(options) : new LoopServer(loop, options);
    const stopped = runUntilSignal(server, () => loop?.stop());
    const { address, port: bound } = server.address;
    if (worker) {
      // The primary prints the one ready line; if it dies, the IPC channel closes: stop as if told.
      if (!process.connected) throw new Error('the primary process is gone');
      process.send!({ type: 'listening', node: bus?.node ?? null } satisfies ListeningMessage);
      process.once('disconnect', primaryGone);
    } else {
      if (!isLoopback(address)) {
        process.stderr.write(`selectchat: warning: listening on ${address}, reachable from other machines\n`);
      }
      process.stdout.write(`${formatReadyLine(address, bound, server.engine, mode)}\n`);
    }
    await loop?.run();
    await stopped;
  } finally {
    recording?.close();
    await bus?.close();
    // The IPC channel (with a 'disconnect' listener) keeps a worker alive: close it to exit.
    if (worker) {
      process.off('disconnect', primaryGone);
      if (process.connected) process.disconnect();
    }
  }
  return 0;
}

/** A worker's primary died (its IPC channel closed): stop as SIGTERM would. */
function primaryGone(): void {
  process.kill(process.pid, 'SIGTERM');
}

/** Most workers one primary starts. */
const MAX_WORKERS = 64;
/** Flags the primary keeps for itself: the workers get --host and --port from it, and the Redis
 *  URL through the environment. */
const PRIMARY_ONLY = new Set(['workers', 'redis', 'host', 'port', 'help']);

const WORKERS_NEED_REDIS = `--workers needs --redis: the workers share one room through Redis. Start one, e.g.
  redis-server --port 6379 --save '' --appendonly no      (Debian: apt-get install redis-server)
then: selectchat serve --workers 4 --redis redis://127.0.0.1:6379`;

/** The serve flags a worker gets: the primary's, but those it keeps for itself. */
function workerFlags(values: Record<string, string | boolean | undefined>): string[] {
  const flags: string[] = [];
  for (const [name, value] of Object.entries(values)) {
    if (PRIMARY_ONLY.has(name) || value === undefined || value === false) continue;
    flags.push(`--${name}`, ...(value === true ? [] : [value]));
  }
  return flags;
}

/** --redis (or the environment): checked now, so a bad URL is a usage error before anything starts. */
function redisEndpoint(text: string | undefined, mode: ServiceMode): { endpoint: RedisEndpoint; url: string } | null {
  if (text === undefined) return null;
  if (mode !== 'chat') throw new UsageError('--redis is for the chat room (--mode chat)');
  try {
    return { endpoint: parseRedisUrl(text), url: text };
  } catch (error) {
    if (error instanceof RedisUrlError) throw new UsageError(error.message);
    throw error;
  }
}

/** The node a restarted worker replaces: its members are reported gone at once. */
function replaced(): string[] {
  const node = process.env[REPLACES_ENV];
  return node === undefined || node === '' ? [] : [node];
}

/** SIGINT/SIGTERM start a graceful shutdown; a second signal exits at once. */
function runUntilSignal(server: ChatServer, done: () => void): Promise<void> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      process.once('SIGINT', () => process.exit(130));
      process.once('SIGTERM', () => process.exit(143));
      process.stderr.write(`selectchat: ${signal}: shutting down\n`);
      server.shutdown().then(() => {
        done();
        resolve();
      });
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
