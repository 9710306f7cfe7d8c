// selectchat net-ref: the benchmark's hand-tuned Node `net` server — a measuring stick, not a
// product, and not part of the `selectchat` command (node dist/bench/net-ref.js).
//
// Why it exists: the libuv engine (`serve --engine libuv`) is our room on Node's `net` module,
// behind the same ConnectionTable and limits as our own loop. To say whether it is a *careful*
// `net` server, and not a strawman beside select(), it is judged against this: the fastest plain
// `net` server we know how to write for the generator's protocol subset. It is c-ref's twin on
// libuv: the same scope (echo; a chat that knows only the welcome / joined / left events and
// "[NICK] text" relays; "! unknown command" for a line starting with '/'; "! line too long";
// a drop limit on unsent output) and no hardening beyond that — no backpressure, no soft
// limits, no stall rule, no UTF-8 or control-character checks, no half-close.
//
// What makes it fast: lines are never decoded to strings (an echo is a slice of the chunk that
// carried it, consecutive lines one slice); a chat relay is built once, and the same Buffer is
// stored once in a frame log that every member's output points into (a client's output of a
// turn is a few ranges of the log, not hundreds of frames); and output is batched per turn: a
// client's first output of a turn lists it, and one setImmediate after libuv's poll phase hands
// each listed client's output to Node in one write, joined in a reused buffer. Measured on the
// 2-core VM, one run each: cork() at the first frame and a write() per frame, uncorked in that
// setImmediate, made 3.9M deliveries/s on chat N=500 K=50 against 16.1M for frames joined by
// Buffer.concat (4.3M vs 7.1M on N=100 K=10); writing each 'data' chunk's echo at once instead
// of at the turn's end made 45–49k msgs/s on echo c=100 against 70–71k. The frame log and the
// reused join buffer came from the libuv engine (src/transport/net-server.ts), which had
// overtaken this server on chat with them (1.15–1.38x): a yardstick must not be the slower one.
import net from 'node:net';
import { formatReadyLine } from '../transport/ready-line.js';

const MAX_LINE = 65536; // longest line, in bytes before its '\n' (as every selectchat server)
const MAX_UNSENT_OUTPUT = 1024 * 1024; // a client holding more unsent output is dropped (as c-ref)
const LISTEN_BACKLOG = 511; // as c-ref
const NEWLINE = 0x0a;
const CR = 0x0d;
const SLASH = 0x2f;
const LOG_BYTES = 256 * 1024; // a block of the frame log, and the join buffer
const NEWLINE_FRAME = Buffer.from('\n');
const TOO_LONG = Buffer.from(`! line too long (max ${MAX_LINE} bytes)\n`);
const UNKNOWN_COMMAND = Buffer.from('! unknown command\n');

interface Client {
  socket: net.Socket;
  nick: string;
  /** "[nick] ", the head of every relay of its lines. */
  prefix: Buffer;
  /** The partial line kept between chunks (a copy), or null. */
  carry: Buffer | null;
  /** Dropping the rest of an over-long line, up to its '\n'. */
  discarding: boolean;
  /** Output of this turn, one write at its end: pieces (ranges of the frame log or of a chunk
   *  read), then the open piece, piece[pieceStart, pieceEnd), which grows while what is queued
   *  follows it; and its bytes. fromLog: some piece is a range of the log. */
  pieces: Buffer[];
  piece: Buffer | null;
  pieceStart: number;
  pieceEnd: number;
  fromLog: boolean;
  outBytes: number;
  gone: boolean;
}

const USAGE = `usage: node dist/bench/net-ref.js [--host HOST] [--port PORT] [--mode echo|chat]
  The hand-tuned Node net reference server of the selectchat benchmark.
  --host HOST   address to listen on (default 127.0.0.1)
  --port PORT   port, 0 picks a free one (default 7070)
  --mode MODE   echo: send each line back; chat: relay lines to everyone else (default echo)
  Prints 'listening on HOST:PORT (engine net-ref, mode MODE)' when ready;
  SIGINT/SIGTERM close every connection and exit 0.
`;

/** Rejects a bad command line: a message on stderr and exit status 2. */
function badUsage(message: string): never {
  process.stderr.write(`net-ref: ${message} (try --help)\n`);
  process.exit(2);
}

function parseArgs(argv: string[]): { host: string; port: number; mode: 'echo' | 'chat' } {
  let host = '127.0.0.1';
  let port = 7070;
  let mode: 'echo' | 'chat' = 'echo';
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    if (flag === '--help' || flag === '-h') {
      process.stdout.write(USAGE);
      process.exit(0);
    }
    const value = argv[++i];
    if (value === undefined) badUsage(`unknown option or missing value: ${flag}`);
    if (flag === '--host') host = value;
    else if (flag === '--port') {
      port = Number(value);
      if (!/^\d+$/.test(value) || port > 65535) badUsage(`bad --port: ${value}`);
    } else if (flag === '--mode') {
      if (value !== 'echo' && value !== 'chat') badUsage(`bad --mode: ${value} (echo or chat)`);
      mode = value;
    } else badUsage(`unknown option: ${flag}`);
  }
  return { host, port, mode };
}

const { host, port, mode } = parseArgs(process.argv.slice(2));
const chat = mode === 'chat';
const clients = new Set<Client>();
/** Clients with output this turn, written together at its end. */
let pending: Client[] = [];
let nextGuest = 1;
/** The frame log: every frame sent in a turn, stored once (a relay by its first member), so a
 *  client's output of a turn is a few ranges of it rather than hundreds of frames. */
let log = Buffer.allocUnsafeSlow(LOG_BYTES);
let logUsed = 0;
let logFrame: Buffer | null = null;
let logAt = 0;
/** Where a client's pieces are joined for its write, reused while the kernel takes each write
 *  at once (a fresh buffer per write made V8 run full GCs for the external memory). */
let joinBuffer = Buffer.allocUnsafeSlow(LOG_BYTES);

/** The turn's end (after libuv's poll phase dispatched every ready socket): each client's output
 *  goes to Node in one write. A range of the log is copied out (the log is reused next turn); a
 *  lone slice of a chunk read goes as it is. */
function endTurn(): void {
  const list = pending;
  pending = [];
  for (let i = 0; i < list.length; i++) {
    const c = list[i]!;
    const pieces = c.pieces;
    pieces.push(c.piece!.subarray(c.pieceStart, c.pieceEnd));
    const bytes = c.outBytes;
    const fromLog = c.fromLog;
    c.pieces = [];
    c.piece = null;
    c.fromLog = false;
    c.outBytes = 0;
    if (c.gone) continue;
    if (pieces.length === 1 && !fromLog) {
      c.socket.write(pieces[0]!);
    } else if (bytes > joinBuffer.length) {
      c.socket.write(Buffer.concat(pieces, bytes));
    } else {
      let at = 0;
      for (let j = 0; j < pieces.length; j++) {
        joinBuffer.set(pieces[j]!, at);
        at += pieces[j]!.length;
      }
      c.socket.write(joinBuffer.subarray(0, bytes));
      if (c.socket.writableLength > 0) joinBuffer = Buffer.allocUnsafeSlow(LOG_BYTES);
    }
  }
  if (pending.length === 0) {
    logUsed = 0;
    logFrame = null;
  }
}

/** Queues buffer[start, start + size) for a client until the turn's end; too much unsent output
 *  drops it. */
function queue(c: Client, buffer: Buffer, start: number, size: number): void {
  if (c.gone) return;
  if (c.outBytes === 0 && pending.push(c) === 1) setImmediate(endTurn);
  if (c.piece === buffer && c.pieceEnd === start) {
    c.pieceEnd += size;
  } else {
    if (c.piece !== null) c.pieces.push(c.piece.subarray(c.pieceStart, c.pieceEnd));
    c.piece = buffer;
    c.pieceStart = start;
    c.pieceEnd = start + size;
  }
  c.outBytes += size;
  if (c.outBytes > MAX_UNSENT_OUTPUT - c.socket.writableLength) drop(c);
}

/** Sends a frame (shared by every member it goes to) through the log. */
function send(c: Client, frame: Buffer): void {
  if (c.gone) return;
  if (frame !== logFrame) {
    if (logUsed + frame.length > log.length) {
      log = Buffer.allocUnsafeSlow(Math.max(LOG_BYTES, frame.length));
      logUsed = 0;
    }
    log.set(frame, logUsed);
    logAt = logUsed;
    logUsed += frame.length;
    logFrame = frame;
  }
  c.fromLog = true;
  queue(c, log, logAt, frame.length);
}

/** Sends a frame to every client but one (null: to all). */
function broadcast(except: Client | null, frame: Buffer): void {
  for (const c of clients) if (c !== except) send(c, frame);
}

function drop(c: Client): void {
  if (c.gone) return;
  c.socket.destroy();
  left(c, 'too slow');
}

/** A client is gone: in chat mode the others hear why. */
function left(c: Client, reason: string): void {
  if (c.gone) return;
  c.gone = true;
  clients.delete(c);
  if (chat) broadcast(null, Buffer.from(`* ${c.nick} left (${reason})\n`));
}

/** Chat: one complete line, bytes[start, end) without its '\n' and '\r'. */
function chatLine(c: Client, bytes: Buffer, start: number, end: number): void {
  if (end === start) return;
  if (bytes[start] === SLASH) return send(c, UNKNOWN_COMMAND);
  const prefix = c.prefix;
  const frame = Buffer.allocUnsafe(prefix.length + end - start + 1);
  prefix.copy(frame, 0);
  bytes.copy(frame, prefix.length, start, end);
  frame[frame.length - 1] = NEWLINE;
  for (const other of clients) if (other !== c) send(other, frame);
}

/** One complete line of either mode that was not part of a plain echo run. */
function line(c: Client, bytes: Buffer, start: number, end: number): void {
  if (end > start && bytes[end - 1] === CR) end--;
  if (chat) return chatLine(c, bytes, start, end);
  if (end > start) queue(c, bytes, start, end - start);
  send(c, NEWLINE_FRAME);
}

/** A chunk libuv read: split into lines, joined with the carry-over of the last chunk. */
function received(c: Client, chunk: Buffer): void {
  const length = chunk.length;
  let at = 0;
  // A line begun in an earlier chunk (or being discarded) first.
  if (c.carry !== null || c.discarding) {
    const newline = chunk.indexOf(NEWLINE, 0);
    const end = newline < 0 ? length : newline;
    if (c.discarding) {
      if (newline < 0) return;
      c.discarding = false;
    } else {
      const carry = c.carry!;
      if (carry.length + end > MAX_LINE) {
        c.carry = null;
        send(c, TOO_LONG);
        if (newline < 0) {
          c.discarding = true;
          return;
        }
      } else if (newline < 0) {
        c.carry = Buffer.concat([carry, chunk]);
        return;
      } else {
        c.carry = null;
        const whole = Buffer.concat([carry, chunk.subarray(0, end)]);
        line(c, whole, 0, whole.length);
      }
    }
    at = newline + 1;
  }
  // Echo: consecutive lines without a '\r' go back as one slice of the chunk.
  let run = at;
  while (at < length && !c.gone) {
    const newline = chunk.indexOf(NEWLINE, at);
    if (newline < 0) break;
    if (newline - at > MAX_LINE) {
      if (!chat && run < at) queue(c, chunk, run, at - run);
      send(c, TOO_LONG);
      run = newline + 1;
    } else if (chat) {
      line(c, chunk, at, newline);
    } else if (newline > at && chunk[newline - 1] === CR) {
      if (run < at) queue(c, chunk, run, at - run);
      line(c, chunk, at, newline);
      run = newline + 1;
    }
    at = newline + 1;
  }
  if (!chat && run < at && !c.gone) queue(c, chunk, run, at - run);
  if (at < length) {
    if (length - at > MAX_LINE) {
      send(c, TOO_LONG);
      c.discarding = true;
    } else {
      c.carry = Buffer.from(chunk.subarray(at));
    }
  }
}

function admit(socket: net.Socket): void {
  const nick = `guest-${nextGuest++}`;
  const c: Client = {
    socket, nick, prefix: Buffer.from(`[${nick}] `), carry: null, discarding: false,
    pieces: [], piece: null, pieceStart: 0, pieceEnd: 0, fromLog: false, outBytes: 0, gone: false,
  };
  clients.add(c);
  socket.on('data', (chunk: Buffer) => received(c, chunk));
  socket.on('end', () => {
    socket.destroy();
    left(c, 'closed');
  });
  socket.on('error', () => {
    socket.destroy();
    left(c, 'connection reset');
  });
  socket.on('close', () => left(c, 'closed'));
  if (!chat) return;
  send(c, Buffer.from(`* welcome ${nick}, ${clients.size} users online; /help for commands\n`));
  broadcast(c, Buffer.from(`* ${nick} joined\n`));
}

const server = net.createServer({ noDelay: true }, admit);
server.on('error', (error: NodeJS.ErrnoException) => {
  process.stderr.write(`net-ref: ${error.code ?? error.message}\n`);
  process.exit(1);
});
server.listen({ host, port, backlog: LISTEN_BACKLOG }, () => {
  const bound = server.address() as net.AddressInfo;
  process.stdout.write(`${formatReadyLine(host, bound.port, 'net-ref', mode)}\n`);
});

function stop(): void {
  server.close();
  for (const c of clients) c.socket.destroy();
  process.exit(0);
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
