// `selectchat serve`: runs the chat or echo service on the chosen transport until a signal.
import { EventLoop } from '../loop/event-loop.js';
import { TextTrace } from '../trace/text-trace.js';
import { combineSinks } from '../trace/tee.js';
import { openRecording } from './record-flag.js';
import { ChatRoom } from '../room/chat-room.js';
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
                       Perfetto; \`selectchat timeline FILE\` makes a page of it)
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
  const host = await resolveHost(values.host ?? DEFAULT_HOST);
  const text = values.trace ? new TextTrace((line) => void process.stderr.write(`${line}\n`)) : null;
  const recording = openRecording(values.record, 'serve', engine);
  try {
    const log = (message: string): void => void process.stderr.write(`${message}\n`);
    return await run(engine, mode, { host, port, limits, trace: combineSinks(text, recording), log });
  } finally {
    recording?.close();
  }
}

/** Serves until a signal has shut the server down. */
async function run(engine: Engine, mode: ServiceMode, options: Omit<ServerOptions, 'service'>): Promise<number> {
  const { limits } = options;
  const service: Service = mode === 'chat' ? new ChatRoom(limits) : new EchoService(limits);
  const { server, loop } = await createServer(engine, { ...options, service });
  const stopped = runUntilSignal(server, () => loop?.stop());
  const { address, port: bound } = server.address;
  if (!isLoopback(address)) {
    process.stderr.write(`selectchat: warning: listening on ${address}, reachable from other machines\n`);
  }
  process.stdout.write(`${formatReadyLine(address, bound, server.engine, mode)}\n`);
  await loop?.run();
  await stopped;
  return 0;
}

/** The server on the chosen engine; our loop also needs to be run (libuv runs itself). */
async function createServer(engine: Engine, options: ServerOptions): Promise<{ server: ChatServer; loop: EventLoop | null }> {
  if (engine === 'libuv') return { server: await NetServer.listen(options), loop: null };
  const loop = new EventLoop(engine, options.trace);
  return { server: new LoopServer(loop, options), loop };
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
