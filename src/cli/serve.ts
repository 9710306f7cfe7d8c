// `selectchat serve`: runs the chat or echo service on the chosen transport until a signal.
import { SelectLoop } from '../loop/select-loop.js';
import { TextTrace } from '../trace/text-trace.js';
import { ChatRoom } from '../room/chat-room.js';
import { EchoService } from '../room/echo-service.js';
import type { Service, ServiceMode } from '../room/service.js';
import { DEFAULT_LIMITS, type ServerLimits } from '../transport/limits.js';
import { NetServer } from '../transport/net-server.js';
import { SelectServer } from '../transport/select-server.js';
import type { ChatServer, Engine, ServerOptions } from '../transport/server.js';
import { DEFAULT_HOST, DEFAULT_PORT, isLoopback, resolveHost } from '../transport/endpoint.js';
import { formatReadyLine } from '../transport/ready-line.js';
import { choiceFlag, integerFlag, numberFlag, parseFlags } from './options.js';

export const SERVE_USAGE = `usage: selectchat serve [options]

  --host ADDR          address to listen on (default ${DEFAULT_HOST}: loopback only;
                       0.0.0.0 or :: exposes the server to the network)
  --port N             port (default ${DEFAULT_PORT}; 0 picks a free one)
  --mode chat|echo     chat room or echo service (default chat)
  --engine select|libuv
                       the transport: our select() loop, or Node's net module on
                       libuv's epoll loop (default select); everything else is shared
  --trace              print every select() round (select engine) and every
                       connection action to stderr
  --max-line BYTES     longest accepted line (default ${DEFAULT_LIMITS.maxLineBytes})
  --max-queue BYTES    unsent output per client before it is dropped as too slow
                       (default ${DEFAULT_LIMITS.maxQueueBytes})
  --max-clients N      connections at once (default ${DEFAULT_LIMITS.maxClients}; the select
                       engine can never watch fds >= FD_SETSIZE whatever this says)
  --idle-timeout SECS  drop clients silent this long (default 0: never)

Prints "listening on HOST:PORT (engine ENGINE, mode MODE)" when ready.
SIGINT/SIGTERM: says goodbye, flushes for at most 2 s, exits 0.
`;

const FLAGS = {
  host: { type: 'string' },
  port: { type: 'string' },
  mode: { type: 'string' },
  engine: { type: 'string' },
  trace: { type: 'boolean' },
  'max-line': { type: 'string' },
  'max-queue': { type: 'string' },
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
    maxClients: integerFlag('max-clients', values['max-clients'], DEFAULT_LIMITS.maxClients, 1, 1 << 24),
    idleTimeoutMs: numberFlag('idle-timeout', values['idle-timeout'], 0) * 1000,
  };
  const mode: ServiceMode = choiceFlag('mode', values.mode, ['chat', 'echo'], 'chat');
  const engine: Engine = choiceFlag('engine', values.engine, ['select', 'libuv'], 'select');
  const port = integerFlag('port', values.port, DEFAULT_PORT, 0, 65535);
  const host = await resolveHost(values.host ?? DEFAULT_HOST);
  const trace = values.trace ? new TextTrace((line) => void process.stderr.write(`${line}\n`)) : null;
  const service: Service = mode === 'chat' ? new ChatRoom(limits) : new EchoService(limits);

  const { server, loop } = await createServer(engine, { host, port, service, limits, trace });
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

/** The server on the chosen engine; the select engine also needs its loop run (libuv runs itself). */
async function createServer(engine: Engine, options: ServerOptions): Promise<{ server: ChatServer; loop: SelectLoop | null }> {
  if (engine === 'libuv') return { server: await NetServer.listen(options), loop: null };
  const loop = new SelectLoop(options.trace);
  return { server: new SelectServer(loop, options), loop };
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
