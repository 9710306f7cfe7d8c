// `selectchat send`, the test peer LEARN.md uses: the exact bytes it writes, in the pieces asked
// for, its FIN and RST closes, its connections, and its exit codes — against a plain node:net
// server on loopback that records what each connection received and how it ended.
import { spawn } from 'node:child_process';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI } from '../helpers/server.js';

/** Longest one `send` run may take here. */
const RUN_LIMIT_MS = 10_000;

/** What one accepted connection saw. */
interface Received {
  /** Every 'data' chunk, in order. */
  chunks: Buffer[];
  /** How it ended: FIN, an error code (ECONNRESET), or still open. */
  end: Promise<string>;
}

/** A loopback server recording every connection; greeting, if given, is sent on accept. */
async function recorder(greeting?: string): Promise<{ server: Server; port: number; connections: Received[] }> {
  const connections: Received[] = [];
  const server = createServer((socket: Socket) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    const end = new Promise<string>((resolve) => {
      socket.on('end', () => resolve('FIN'));
      socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    });
    if (greeting !== undefined) socket.write(greeting);
    connections.push({ chunks, end });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return { server, port: (server.address() as AddressInfo).port, connections };
}

const servers: Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

/** Runs `selectchat send ARGS`; resolves with its exit code and output. */
function send(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'send', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_LIMIT_MS);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('selectchat send', () => {
  it('decodes \\n \\r \\t \\\\ and \\xHH into raw bytes, joins words with spaces, appends a newline', async () => {
    const { port, connections } = await recorder();
    const run = await send(['--port', String(port), 'a\\tb', 'c\\\\d\\r\\n\\x00\\xff\\xC3']);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(await connections[0]!.end).toBe('FIN');
    expect(Buffer.concat(connections[0]!.chunks)).toEqual(Buffer.from([0x61, 0x09, 0x62, 0x20, 0x63, 0x5c, 0x64, 0x0d, 0x0a, 0x00, 0xff, 0xc3, 0x0a]));
  });

  it('--chunk and --delay: each piece arrives as its own segment', async () => {
    const { port, connections } = await recorder();
    const run = await send(['--port', String(port), '--chunk', '3', '--delay', '40ms', 'abcdefgh']);
    expect(run.code).toBe(0);
    await connections[0]!.end;
    expect(connections[0]!.chunks.map(String)).toEqual(['abc', 'def', 'gh\n']);
  });

  it('--fill, --repeat, --no-newline and --connections: every connection gets the whole payload', async () => {
    const { port, connections } = await recorder();
    const run = await send(['--port', String(port), '--fill', '5', '--repeat', '3', '--connections', '4']);
    expect(run.code).toBe(0);
    expect(connections).toHaveLength(4);
    for (const connection of connections) {
      await connection.end;
      expect(Buffer.concat(connection.chunks).toString()).toBe('xxxxx\n'.repeat(3));
    }
    const bare = await send(['--port', String(port), '--no-newline', 'raw']);
    expect(bare.code).toBe(0);
    await connections[4]!.end;
    expect(Buffer.concat(connections[4]!.chunks).toString()).toBe('raw');
  });

  it('--reset closes with RST: the server sees ECONNRESET', async () => {
    const { port, connections } = await recorder();
    const run = await send(['--port', String(port), '--hold', '50', '--reset', 'bye']);
    expect(run.code).toBe(0);
    expect(await connections[0]!.end).toBe('ECONNRESET');
  });

  it('--read prints what the server sends; a server that closes first is reported on stderr, exit 0', async () => {
    const server = createServer((socket) => socket.end('hello from the server\n'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    const run = await send(['--port', String((server.address() as AddressInfo).port), '--read', '--hold', '100']);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('hello from the server\n');
    expect(run.stderr).toBe('selectchat: the server ended the connection first (1 closed, 0 reset)\n');
  });

  it('without --read nothing is printed', async () => {
    const { port } = await recorder('ignored\n');
    const run = await send(['--port', String(port), 'hi']);
    expect(run).toMatchObject({ code: 0, stdout: '' });
  });

  it('exits 1 with one line when it cannot connect', async () => {
    const { server, port } = await recorder();
    await new Promise((resolve) => server.close(resolve));
    const run = await send(['--port', String(port), 'hi']);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`selectchat: connect ECONNREFUSED 127.0.0.1:${port}\n`);
  });

  it.each([
    [['--bogus'], /Unknown option '--bogus'/],
    [['a\\q'], /bad escape '\\q' in TEXT/],
    [['a\\x4'], /bad escape '\\x4' in TEXT/],
    [['--fill', '10', 'text'], /give TEXT or --fill, not both/],
    [['--chunk', '0', 'x'], /--chunk must be an integer from 1/],
    [['--delay', '1s', 'x'], /--delay must be milliseconds, such as 20 or 20ms, got '1s'/],
    [['--connections', '0', 'x'], /--connections must be an integer from 1/],
  ])('exits 2 on a usage error: %j', async (args, message) => {
    const run = await send(args);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });
});
