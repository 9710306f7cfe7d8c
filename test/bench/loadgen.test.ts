// The load generator (build/Release/selectchat-loadgen) against tiny in-test servers that cut
// their replies at odd places: lines split across writes and several lines merged in one write.
// Closed and open loop, echo and chat; the histogram checked against the raw samples.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { LoadgenReport } from '../../src/bench/run-loadgen.js';
import { expectPercentilesMatch, readSamples } from './samples.js';

const LOADGEN = fileURLToPath(new URL('../../build/Release/selectchat-loadgen', import.meta.url));
const run = promisify(execFile);
/** Each reply goes out in this many pieces cut at arbitrary byte offsets, a pause between them. */
const PIECES = 3;
const PIECE_GAP_MS = 1;
/** Generator windows: short, the test counts lines, not speed. */
const WINDOW = ['--warmup', '0.2', '--duration', '0.5'];


const servers: Server[] = [];
const dir = mkdtempSync(join(tmpdir(), 'selectchat-loadgen-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
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

/** An echo server: every line goes back to its sender, cut into pieces. */
function echoServer(): Promise<number> {
  return lineServer(() => {}, (client, line) => void client.out.push(`${line}\n`));
}

/** A chat room: a welcome and join events, then every line relayed to every other member. */
function chatServer(): Promise<number> {
  const members: Client[] = [];
  return lineServer(
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
    const port = await echoServer();
    const report = await loadgen(['--port', String(port), '--connections', '3', '--depth', '4', '--size', '64']);
    expect(report).toMatchObject({ workload: 'echo', connections: 3, senders: 3, depth: 4, size: 64, idle: 0, errors: 0, ok: true });
    expect(report).toMatchObject({ mode: 'closed', offered_per_s: null, scheduled: null, unsent: null, send_lag_us: null });
    expect(report.messages).toBeGreaterThan(0);
    expect(report.deliveries).toBe(report.messages);
    expect(report.latency_us.count).toBe(report.messages);
    // duration_s is printed to the millisecond; the rate uses the exact window.
    expect(Math.abs(report.messages_per_s - report.messages / report.duration_s)).toBeLessThan(report.messages_per_s * 0.005 + 1);
    expect(report.duration_s).toBeGreaterThanOrEqual(0.5);
    const { p50, p90, p99, p999 = 0, max } = report.latency_us;
    expect(0 < p50 && p50 <= p90 && p90 <= p99 && p99 <= p999 && p999 <= max).toBe(true);
    for (const field of ['cpu_user_s', 'cpu_sys_s'] as const) expect(report[field]).toBeGreaterThanOrEqual(0);
  });

  it('chat: after the welcome, every relayed line reaches each other member once, in order', async () => {
    const port = await chatServer();
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

  it('--idle: an idle connection is open only once answered, so at most 128 wait on the server at once', async () => {
    const IDLE = 300;
    const CONCURRENCY = 128;
    let waiting = 0;
    let mostWaiting = 0;
    let answered = 0;
    let activeBeforeIdleDone = 0;
    // Answers each idle connection's one line 20 ms late: the generator must not open more meanwhile.
    const port = await lineServer(() => {}, (client, line) => {
      if (line !== 'idle') {
        if (answered < IDLE) activeBeforeIdleDone++;
        client.out.push(`${line}\n`);
        return;
      }
      mostWaiting = Math.max(mostWaiting, ++waiting);
      setTimeout(() => {
        waiting--;
        answered++;
        client.out.push('idle\n');
        flush(client);
      }, 20);
    });
    const report = await loadgen(['--port', String(port), '--workload', 'idle', '--connections', '2', '--idle', String(IDLE)]);
    expect(report).toMatchObject({ workload: 'idle', idle: IDLE, idle_served: IDLE, errors: 0, ok: true });
    expect(mostWaiting).toBeLessThanOrEqual(CONCURRENCY);
    expect(mostWaiting).toBeGreaterThan(1);
    expect(activeBeforeIdleDone).toBe(0);
  });

  it('--idle: a refused idle connection is an error and not counted as served', async () => {
    const port = await lineServer((client) => {
      if (client.id <= 20) return;
      client.socket.end('! server full\n');
    }, (client, line) => void client.out.push(`${line}\n`));
    const report = await loadgen(['--port', String(port), '--workload', 'idle', '--connections', '1', '--idle', '30']);
    expect(report.idle_served).toBe(20);
    expect(report.errors).toBeGreaterThanOrEqual(10);
    expect(report.ok).toBe(false);
  });

  it('--idle with chat: the welcome answers an idle member', async () => {
    const port = await chatServer();
    const report = await loadgen(['--port', String(port), '--workload', 'chat', '--connections', '3', '--senders', '1', '--idle', '5']);
    expect(report).toMatchObject({ workload: 'chat', idle: 5, idle_served: 5, errors: 0, ok: true });
  });

  it('--samples writes every measured latency, and the percentiles match the sorted samples within 1 %', async () => {
    const port = await echoServer();
    const file = join(dir, 'closed.txt');
    const report = await loadgen(['--port', String(port), '--connections', '4', '--depth', '2', '--samples', file]);
    const samples = readSamples(file);
    expect(samples).toHaveLength(report.latency_us.count);
    expectPercentilesMatch(report, samples);
  });
});

describe('selectchat-loadgen --rate (open loop)', () => {
  /** Lines that may sit between "due" and "counted" at each edge of the window. */
  const edge = (r: LoadgenReport): number => 2 * r.senders * r.depth;

  it('echo: every line due in the window comes back or is counted as unsent', async () => {
    const port = await echoServer();
    const file = join(dir, 'open-echo.txt');
    const report = await loadgen(['--port', String(port), '--connections', '5', '--depth', '8', '--rate', '400', '--samples', file]);
    expect(report).toMatchObject({ workload: 'echo', mode: 'open', offered_per_s: 400, errors: 0, ok: true });
    // The schedule is exact: 400 lines/s over the window, whatever the server did.
    expect(Math.abs((report.scheduled ?? 0) - 400 * report.duration_s)).toBeLessThanOrEqual(1);
    expect(Math.abs(report.messages - (report.scheduled ?? 0))).toBeLessThanOrEqual((report.unsent ?? 0) + edge(report));
    expect(report.send_lag_us?.p50).toBeGreaterThanOrEqual(0);
    expectPercentilesMatch(report, readSamples(file));
  });

  it('chat: each sender on its schedule, every delivery counted from the intended time', async () => {
    const port = await chatServer();
    const args = ['--port', String(port), '--workload', 'chat', '--connections', '4', '--senders', '2', '--depth', '4', '--rate', '200'];
    const report = await loadgen(args);
    expect(report).toMatchObject({ workload: 'chat', mode: 'open', offered_per_s: 200, errors: 0, ok: true });
    expect(Math.abs((report.scheduled ?? 0) - 200 * report.duration_s)).toBeLessThanOrEqual(1);
    expect(Math.abs(report.messages - (report.scheduled ?? 0))).toBeLessThanOrEqual((report.unsent ?? 0) + edge(report));
    expect(Math.abs(report.deliveries - report.messages * 3)).toBeLessThanOrEqual(3 * edge(report));
    expect(report.latency_us.count).toBe(report.deliveries);
  });

  it('a bad --rate is a usage error (exit 2)', async () => {
    const failed = await run(LOADGEN, ['--port', '1', '--rate', '0']).catch((error: { code: number; stderr: string }) => error);
    expect(failed).toMatchObject({ code: 2 });
    expect((failed as { stderr: string }).stderr).toMatch(/bad --rate: 0/);
  });
});
