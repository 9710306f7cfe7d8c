// The load generator (build/Release/selectchat-loadgen) against tiny in-test servers that cut
// their replies at odd places: lines split across writes and several lines merged in one write.
import { execFile } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import type { LoadgenReport } from '../../src/bench/run-loadgen.js';

const LOADGEN = fileURLToPath(new URL('../../build/Release/selectchat-loadgen', import.meta.url));
const run = promisify(execFile);
/** Each reply goes out in this many pieces cut at arbitrary byte offsets, a pause between them. */
const PIECES = 3;
const PIECE_GAP_MS = 1;
/** Generator windows: short, the test counts lines, not speed. */
const WINDOW = ['--warmup', '0.2', '--duration', '0.5'];


const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.close();
    await new Promise((resolve) => server.once('close', resolve));
  }
});

/** Writes bytes to socket in PIECES parts (odd cuts: mid-line and across lines), in order. */
function writeCut(socket: Socket, bytes: Buffer, chain: Promise<void>): Promise<void> {
  return chain.then(async () => {
    const cut = Math.ceil(bytes.length / PIECES);
    for (let at = 0; at < bytes.length; at += cut) {
      if (socket.destroyed) return;
      socket.write(bytes.subarray(at, at + cut));
      await delay(PIECE_GAP_MS);
    }
  });
}

/** A server that calls onLine(client, line) per complete line; replies are sent with writeCut. */
async function lineServer(onConnect: (client: Client) => void, onLine: (client: Client, line: string) => void): Promise<number> {
  const clients: Client[] = [];
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    const client: Client = { socket, id: clients.length + 1, pending: '', chain: Promise.resolve(), out: [] };
    clients.push(client);
    socket.on('error', () => {});
    socket.on('close', () => clients.splice(clients.indexOf(client), 1));
    onConnect(client);
    socket.on('data', (data: Buffer) => {
      const lines = (client.pending + data.toString('latin1')).split('\n');
      client.pending = lines.pop() ?? '';
      for (const line of lines) onLine(client, line);
      // Everything this read produced, per receiver, as one buffer cut into pieces.
      for (const other of clients) flush(other);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

interface Client {
  socket: Socket;
  id: number;
  pending: string;
  chain: Promise<void>;
  out: string[];
}

/** Sends what was queued for client since the last flush. */
function flush(client: Client): void {
  if (client.out.length === 0) return;
  const bytes = Buffer.from(client.out.join(''), 'latin1');
  client.out = [];
  client.chain = writeCut(client.socket, bytes, client.chain);
}

/** Runs the generator and parses its one JSON line. */
async function loadgen(args: string[]): Promise<LoadgenReport> {
  const { stdout } = await run(LOADGEN, ['--host', '127.0.0.1', ...args, ...WINDOW], { timeout: 15_000 });
  const lines = stdout.trim().split('\n');
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0] as string) as LoadgenReport;
}

describe('selectchat-loadgen', () => {
  it('echo: counts every line returned in split and merged pieces, with all result fields', async () => {
    const port = await lineServer(() => {}, (client, line) => void client.out.push(`${line}\n`));
    const report = await loadgen(['--port', String(port), '--connections', '3', '--depth', '4', '--size', '64']);
    expect(report).toMatchObject({ workload: 'echo', connections: 3, senders: 3, depth: 4, size: 64, idle: 0, errors: 0, ok: true });
    expect(report.messages).toBeGreaterThan(0);
    expect(report.deliveries).toBe(report.messages);
    expect(report.latency_us.count).toBe(report.messages);
    // duration_s is printed to the millisecond; the rate uses the exact window.
    expect(Math.abs(report.messages_per_s - report.messages / report.duration_s)).toBeLessThan(report.messages_per_s * 0.005 + 1);
    expect(report.duration_s).toBeGreaterThanOrEqual(0.5);
    const { p50, p90, p99, max } = report.latency_us;
    expect(0 < p50 && p50 <= p90 && p90 <= p99 && p99 <= max).toBe(true);
    for (const field of ['cpu_user_s', 'cpu_sys_s'] as const) expect(report[field]).toBeGreaterThanOrEqual(0);
  });

  it('chat: after the welcome, every relayed line reaches each other member once, in order', async () => {
    const members: Client[] = [];
    const port = await lineServer(
      (client) => {
        members.push(client);
        client.socket.once('close', () => members.splice(members.indexOf(client), 1));
        client.out.push(`* welcome guest-${client.id}, ${members.length} users online; /help for commands\n`);
        for (const other of members) if (other !== client) other.out.push(`* guest-${client.id} joined\n`);
        for (const other of members) flush(other);
      },
      (client, line) => {
        for (const other of members) if (other !== client) other.out.push(`[guest-${client.id}] ${line}\n`);
      },
    );
    const report = await loadgen(['--port', String(port), '--workload', 'chat', '--connections', '4', '--senders', '2', '--depth', '4']);
    expect(report).toMatchObject({ workload: 'chat', connections: 4, senders: 2, depth: 4, errors: 0, ok: true });
    expect(report.messages).toBeGreaterThan(0);
    // Each completed message reached the 3 other members; only messages in flight at the window's
    // edges (at most senders × depth at each) may be counted on one side and not the other.
    const edge = 2 * 4 * 3;
    expect(Math.abs(report.deliveries - report.messages * 3)).toBeLessThanOrEqual(2 * edge);
    expect(report.latency_us.count).toBe(report.deliveries);
  });

  it('counts a "! " line from the server as an error and reports ok: false', async () => {
    let served = 0;
    const port = await lineServer(() => {}, (client, line) => {
      served++;
      client.out.push(served === 5 ? '! something went wrong\n' : `${line}\n`);
    });
    const report = await loadgen(['--port', String(port), '--connections', '1']);
    expect(report.errors).toBeGreaterThanOrEqual(1);
    expect(report.ok).toBe(false);
  });
});
