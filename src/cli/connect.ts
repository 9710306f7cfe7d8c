// `selectchat connect`: the chat client. Interactive on a terminal, scripted on pipes; its socket
// runs on the project's EventLoop (select by default, poll or epoll) or on Node's net (--engine libuv).
import { ScriptedTerminal } from '../client/scripted-terminal.js';
import { InteractiveTerminal } from '../client/interactive-terminal.js';
import { connectLibuv } from '../client/libuv-client.js';
import { connectLoop } from '../client/loop-client.js';
import { incomingLimit, type ClientTransport, type Terminal } from '../client/client-transport.js';
import { DEFAULT_MAX_LINE_BYTES } from '../framing/line-decoder.js';
import { encodeLine } from '../framing/line-encoder.js';
import { EventLoop } from '../loop/event-loop.js';
import { NICK_PATTERN } from '../room/protocol.js';
import { ENGINES, type Engine } from '../transport/server.js';
import { DEFAULT_HOST, DEFAULT_PORT, formatEndpoint, resolveHost } from '../transport/endpoint.js';
import { UsageError, choiceFlag, integerFlag, parseFlags } from './options.js';
import { openRecording } from './record-flag.js';

/** Scripted mode: quiet time after the end of stdin before /quit (ms). */
const DEFAULT_LINGER_MS = 200;

export const CONNECT_USAGE = `usage: selectchat connect [options]

  --host ADDR            server address (default ${DEFAULT_HOST})
  --port N               server port (default ${DEFAULT_PORT})
  --nick NAME            sends "/nick NAME" once connected
  --engine select|poll|epoll|libuv
                         the client's event loop: the project's loop on select()
                         (default), poll() or epoll, or Node's net module
  --max-line BYTES       longest line sent (default ${DEFAULT_MAX_LINE_BYTES}, as the server's);
                         longer lines are refused here, before sending
  --linger MS            scripted mode: once stdin has ended, wait until the server has been
                         quiet this long, then send /quit (default ${DEFAULT_LINGER_MS})
  --record FILE          write the client loop's rounds to FILE as a Chrome trace (our
                         loop's engines; \`selectchat timeline FILE\` makes a page of it)

Interactive when stdin and stdout are a terminal: a prompt with history (arrow keys);
incoming lines appear above it. /quit, Ctrl-C or Ctrl-D leaves.
Scripted otherwise: every stdin line is sent, every received line is printed to stdout
as it is, nothing else is: printf 'hello\\n' | selectchat connect --nick bob
Exit status: 0 after leaving, 1 when the connection fails or is lost, 2 on a usage error.
`;

const FLAGS = {
  host: { type: 'string' },
  port: { type: 'string' },
  nick: { type: 'string' },
  engine: { type: 'string' },
  'max-line': { type: 'string' },
  linger: { type: 'string' },
  record: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Runs the client; resolves with the exit code. A failed connect throws (main prints it, exit 1). */
export async function connect(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, FLAGS);
  if (values.help) {
    process.stdout.write(CONNECT_USAGE);
    return 0;
  }
  const port = integerFlag('port', values.port, DEFAULT_PORT, 1, 65535);
  const maxLineBytes = integerFlag('max-line', values['max-line'], DEFAULT_MAX_LINE_BYTES, 1, 1 << 30);
  const lingerMs = integerFlag('linger', values.linger, DEFAULT_LINGER_MS, 0, 3_600_000);
  const engine: Engine = choiceFlag('engine', values.engine, ENGINES, 'select');
  const nick = values.nick;
  if (nick !== undefined && !NICK_PATTERN.test(nick)) {
    throw new UsageError(`--nick must be 1 to 24 of A-Z a-z 0-9 _ -, got '${nick}'`);
  }
  const host = await resolveHost(values.host ?? DEFAULT_HOST);
  const greeting = `connected to ${formatEndpoint(host, port)} (engine ${engine})`;
  const terminal: Terminal = process.stdin.isTTY && process.stdout.isTTY
    ? new InteractiveTerminal({ maxLineBytes, greeting })
    : new ScriptedTerminal({ maxLineBytes, lingerMs });
  const maxIncoming = incomingLimit(maxLineBytes);

  /** Connects, names us, hands the connection to the terminal; resolves when the session ends. */
  const session = async (open: Promise<ClientTransport>): Promise<number> => {
    const transport = await open;
    if (nick !== undefined) transport.send(encodeLine(`/nick ${nick}`));
    terminal.start(transport);
    return terminal.exitCode;
  };
  const recording = openRecording(values.record, 'connect', engine);
  try {
    if (engine === 'libuv') return await session(connectLibuv(host, port, maxIncoming, terminal));
    const loop = new EventLoop(engine, recording);
    const running = loop.run();
    try {
      return await session(connectLoop(loop, host, port, maxIncoming, terminal, recording));
    } finally {
      loop.stop();
      await running;
    }
  } finally {
    recording?.close();
  }
}
