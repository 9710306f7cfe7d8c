// `selectchat send`: a test peer for experiments — writes raw bytes in chosen pieces, floods,
// opens many connections, holds them without reading, closes with FIN or RST. See LEARN.md.
import { QUIET_BEFORE_FIN_MS, runPeers, type PeerPlan } from '../peer/raw-peer.js';
import { decodeEscapes } from './escapes.js';
import { DEFAULT_HOST, DEFAULT_PORT, resolveHost } from '../transport/endpoint.js';
import { UsageError, integerFlag, parseFlags } from './options.js';

/** Most bytes one connection may be asked to send (TEXT or --fill, times --repeat). */
const MAX_PAYLOAD_BYTES = 256 * 1024 * 1024;
/** Most connections one run may open. */
const MAX_CONNECTIONS = 100_000;

export const SEND_USAGE = `usage: selectchat send [options] [TEXT...]

A test peer for experiments (see LEARN.md), not a chat client: it writes raw bytes and
frames nothing. TEXT words are joined by spaces; escapes \\n \\r \\t \\\\ and \\xHH (a raw
byte, so invalid UTF-8 can be sent) are decoded; a newline is appended.

  --host ADDR        server address (default ${DEFAULT_HOST})
  --port N           server port (default ${DEFAULT_PORT})
  --fill BYTES       send a line of BYTES 'x' characters instead of TEXT
  --no-newline       do not append the newline
  --repeat N         send the text N times back to back (default 1): a flood
  --chunk BYTES      write BYTES at a time, each write flushed to the kernel before the
                     next, so pieces arrive as separate segments (default: one write)
  --delay MS         pause between chunks (default 0; "20" or "20ms")
  --connections N    open N connections, each sending the text (default 1)
  --hold MS          keep the connections open MS after sending, reading nothing
                     unless --read (default 0)
  --read             print what the server sends to stdout
  --reset            close with RST (an abortive close) instead of FIN

Without TEXT or --fill nothing is sent: the connections are only opened (and held).
A FIN close first reads what is left (printed with --read, else discarded) until the
server has been quiet for ${QUIET_BEFORE_FIN_MS} ms, so unread data cannot turn the close into an RST.
Exit status: 0 when everything was sent, 1 when a connection or a send failed,
2 on a usage error.
`;

const FLAGS = {
  host: { type: 'string' },
  port: { type: 'string' },
  fill: { type: 'string' },
  'no-newline': { type: 'boolean' },
  repeat: { type: 'string' },
  chunk: { type: 'string' },
  delay: { type: 'string' },
  connections: { type: 'string' },
  hold: { type: 'string' },
  read: { type: 'boolean' },
  reset: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Reads a duration in ms: "20" or "20ms" (fractions allowed). */
function msFlag(name: string, value: string | undefined): number {
  if (value === undefined) return 0;
  const match = /^(\d+(?:\.\d+)?)(?:ms)?$/.exec(value.trim());
  if (!match) throw new UsageError(`--${name} must be milliseconds, such as 20 or 20ms, got '${value}'`);
  return Number(match[1]);
}

/** The bytes one connection sends once: TEXT with escapes decoded, or --fill x's; plus '\n'. */
function line(text: string[], fill: string | undefined, newline: boolean): Buffer {
  if (fill !== undefined && text.length > 0) throw new UsageError('give TEXT or --fill, not both');
  const body = fill !== undefined
    ? Buffer.alloc(integerFlag('fill', fill, 0, 0, MAX_PAYLOAD_BYTES), 'x')
    : decodeEscapes(text.join(' '));
  // Nothing asked for, nothing sent: not even an empty line.
  if (fill === undefined && text.length === 0) return body;
  return newline ? Buffer.concat([body, Buffer.from('\n')]) : body;
}

/** Runs the peers; resolves with the exit code. */
export async function send(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, FLAGS, true);
  if (values.help) {
    process.stdout.write(SEND_USAGE);
    return 0;
  }
  const once = line(positionals, values.fill, !values['no-newline']);
  const repeat = integerFlag('repeat', values.repeat, 1, 1, MAX_PAYLOAD_BYTES);
  if (once.length * repeat > MAX_PAYLOAD_BYTES) {
    throw new UsageError(`--repeat ${repeat} of ${once.length} bytes is more than ${MAX_PAYLOAD_BYTES} bytes`);
  }
  // stdout closed under us (`| head -1`): stop printing, go on with the run.
  let printing = true;
  process.stdout.on('error', () => (printing = false));
  const plan: PeerPlan = {
    host: await resolveHost(values.host ?? DEFAULT_HOST),
    port: integerFlag('port', values.port, DEFAULT_PORT, 1, 65535),
    payload: once.length > 0 && repeat > 1 ? Buffer.alloc(once.length * repeat, once) : once,
    chunkBytes: integerFlag('chunk', values.chunk, 0, 1, MAX_PAYLOAD_BYTES),
    delayMs: msFlag('delay', values.delay),
    connections: integerFlag('connections', values.connections, 1, 1, MAX_CONNECTIONS),
    holdMs: msFlag('hold', values.hold),
    reset: values.reset ?? false,
    output: values.read ? (bytes) => void (printing && process.stdout.write(bytes)) : null,
  };
  const outcome = await runPeers(plan);
  if (outcome.failure !== null) {
    process.stderr.write(`selectchat: ${outcome.failure}\n`);
    return 1;
  }
  const ended = outcome.closedByServer + outcome.resetByServer;
  if (ended > 0) {
    // Not a failure: closing on us (server full, too slow, /quit) is what some experiments show.
    const of = plan.connections === 1 ? 'the connection' : `${ended} of ${plan.connections} connections`;
    process.stderr.write(`selectchat: the server ended ${of} first (${outcome.closedByServer} closed, ${outcome.resetByServer} reset)\n`);
  }
  return 0;
}
