// serve --workers N: one primary, N SO_REUSEPORT workers in one room through Redis.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { destroyAllClients, LineClient } from '../helpers/line-client.js';
import { killLeftovers, runServe, startServer, type ServerProcess } from '../helpers/server.js';
import { NO_REDIS, TestRedis } from './redis.js';

/** Bound on a lost worker's members being reported gone, and on its restart. */
const WITHIN_MS = 10_000;
/** Poll interval of the bounded waits here. */
const POLL_MS = 20;

/** The primary's children: its workers. */
function workerPids(primary: number): number[] {
  const text = readFileSync(`/proc/${primary}/task/${primary}/children`, 'utf8').trim();
  return text === '' ? [] : text.split(/\s+/).map(Number);
}

/** Sockets a process has open. */
function sockets(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).filter((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:');
    } catch {
      return false; // Closed while we looked.
    }
  }).length;
}

/** Polls until test() holds; fails with why() after limitMs. */
async function until(test: () => boolean, why: () => string, limitMs = WITHIN_MS): Promise<void> {
  const deadline = performance.now() + limitMs;
  while (!test()) {
    if (performance.now() > deadline) throw new Error(why());
    await delay(POLL_MS);
  }
}

/** n clients connected at once, and the first line each was told (welcome or server full). */
async function connectMany(server: ServerProcess, n: number): Promise<{ clients: LineClient[]; first: string[] }> {
  const clients = await Promise.all(Array.from({ length: n }, () => LineClient.connect(server.host, server.port)));
  const first = await Promise.all(clients.map((client) => client.nextLine()));
  return { clients, first };
}

/** Reads lines until every wanted line has come (in any order); fails after limitMs. */
async function hearAll(client: LineClient, wanted: readonly string[], limitMs = WITHIN_MS): Promise<void> {
  const missing = new Set(wanted);
  const deadline = performance.now() + limitMs;
  while (missing.size > 0) {
    const line = await client.nextLine(Math.max(1, deadline - performance.now())).catch((error: Error) => {
      throw new Error(`${error.message}; still missing ${JSON.stringify([...missing])}`);
    });
    missing.delete(line);
  }
}

describe.skipIf(NO_REDIS !== null)('serve --workers', () => {
  let redis: TestRedis;

  beforeAll(async () => {
    redis = await TestRedis.start();
  });
  afterEach(async () => {
    destroyAllClients();
    await killLeftovers();
  });
  afterAll(async () => {
    await killLeftovers();
    await redis.remove();
  });

  it.each(['select', 'libuv'])('%s: one ready line; connections spread over the workers, all in one room; SIGTERM says goodbye and exits 0', async (engine) => {
    const server = await startServer(engine, ['--workers', '2', '--redis', redis.url]);
    expect(server.stderr).toMatch(/2 workers \(pids \d+, \d+\) share port \d+ with SO_REUSEPORT/);
    const workers = workerPids(server.pid);
    expect(workers).toHaveLength(2);
    const before = workers.map(sockets);

    const n = 24;
    const { clients, first } = await connectMany(server, n);
    expect(first.filter((line) => line.startsWith('* welcome ')), first.join('\n')).toHaveLength(n);
    // The kernel spread them: each worker holds some (all 24 on one worker has odds of 2^-23).
    const added = workers.map((pid, i) => sockets(pid) - before[i]!);
    expect(added.reduce((sum, k) => sum + k, 0)).toBe(n);
    expect(Math.min(...added), `connections per worker: ${added}`).toBeGreaterThan(0);

    const [speaker, ...others] = clients;
    await speaker!.send('hello, every worker\n');
    for (const client of others) await client.skipUntil(/^\[guest-\d+\] hello, every worker$/);

    const exit = await server.stop('SIGTERM');
    expect(exit).toEqual({ code: 0, signal: null });
    for (const client of clients) await client.skipUntil('* server shutting down');
    for (const pid of workers) await until(() => !alive(pid), () => `worker ${pid} still runs`, 3000);
  });

  it('a worker killed with SIGKILL: its members are reported gone everywhere, their nicks freed, and it is restarted', async () => {
    const server = await startServer('select', ['--workers', '2', '--redis', redis.url]);
    const [victim] = workerPids(server.pid);
    const n = 20;
    const { clients } = await connectMany(server, n);
    const nicks = clients.map((_, i) => `c${i}`);
    for (const [i, client] of clients.entries()) await client.send(`/nick ${nicks[i]}\n`);
    // Every member has heard every rename: every worker knows every nick.
    for (const client of clients) {
      const seen = new Set<string>();
      while (seen.size < n) seen.add(/ is now (c\d+)$/.exec(await client.nextLine())?.[1] ?? '');
    }

    const killed = performance.now();
    process.kill(victim!, 'SIGKILL');
    const isGone = (client: LineClient): boolean => client.socket.readableEnded || client.socket.destroyed;
    await until(() => clients.some(isGone), () => 'no client of the killed worker was closed');
    await delay(300);
    const gone = nicks.filter((_, i) => isGone(clients[i]!));
    const survivors = clients.filter((client) => !isGone(client));
    // Both kinds exist unless the kernel put all 20 on one worker (odds 2^-19).
    expect(gone.length).toBeGreaterThan(0);
    expect(survivors.length).toBeGreaterThan(0);
    for (const client of survivors) await hearAll(client, gone.map((nick) => `* ${nick} left (node lost)`));
    console.log(`worker kill -9: ${gone.length} members reported "left (node lost)" after ${(performance.now() - killed).toFixed(0)} ms`);
    expect(performance.now() - killed).toBeLessThan(WITHIN_MS);

    // Restarted: a new pid in the dead one's place, serving, and the dead members' nicks are free.
    await until(() => workerPids(server.pid).length === 2 && !workerPids(server.pid).includes(victim!), () => 'the worker was not restarted');
    expect(server.stderr).toMatch(/worker \d \(pid \d+\) died \(signal SIGKILL\); its members are reported gone; restarting it in \d+ ms/);
    const newcomers = await Promise.all(Array.from({ length: 6 }, () => LineClient.join(server.host, server.port)));
    await newcomers[0]!.send(`/nick ${gone[0]}\n`);
    await newcomers[0]!.skipUntil(/^\* guest-\d+ is now c\d+$/);
    await survivors[0]!.skipUntil(/^\* guest-\d+ is now c\d+$/);
    await survivors[0]!.send('/who\n');
    let who = '';
    while (!who.startsWith('* users: ')) who = await survivors[0]!.nextLine();
    const listed = who.slice('* users: '.length).split(', ');
    expect(listed).toHaveLength(survivors.length + newcomers.length);
    expect(listed.filter((nick) => gone.includes(nick))).toEqual([gone[0]]);
  });

  it('a primary killed with SIGKILL leaves no worker behind: each says goodbye and exits', async () => {
    const server = await startServer('select', ['--workers', '2', '--redis', redis.url]);
    const workers = workerPids(server.pid);
    const { clients } = await connectMany(server, 6);
    server.child.kill('SIGKILL');
    for (const client of clients) await client.skipUntil('* server shutting down');
    for (const pid of workers) await until(() => !alive(pid), () => `worker ${pid} outlived its primary`, 5000);
  });

  it('--max-clients counts per worker', async () => {
    const server = await startServer('select', ['--workers', '2', '--max-clients', '3', '--redis', redis.url]);
    const { first } = await connectMany(server, 30);
    expect(first.filter((line) => line.startsWith('* welcome ')), first.join('\n')).toHaveLength(6);
    expect(first.filter((line) => line === '! server full')).toHaveLength(24);
  });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(NO_REDIS !== null)('serve --workers with a Redis password', () => {
  afterAll(killLeftovers);

  it('hands the URL to the workers in their environment: no password in any argv or output', async () => {
    const password = 'worker-secret';
    const redis = await TestRedis.start({ tcp: true, password });
    try {
      const server = await startServer('select', ['--workers', '2', '--redis', redis.url]);
      const client = await LineClient.join(server.host, server.port);
      await client.send('/who\n');
      await client.expectLine(/^\* users: /);
      for (const pid of workerPids(server.pid)) {
        expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).not.toContain(password);
      }
      const exit = await server.stop('SIGTERM');
      expect(exit).toEqual({ code: 0, signal: null });
      expect(server.stderr).not.toContain(password);
    } finally {
      destroyAllClients();
      await killLeftovers();
      await redis.remove();
    }
  });
});

describe('serve --workers without --redis', () => {
  it('is a usage error that says how to start Redis', async () => {
    const run = await runServe('select', ['--port', '0', '--workers', '2']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^selectchat: --workers needs --redis/);
    expect(run.stderr).toMatch(/redis-server --port 6379 --save '' --appendonly no/);
  });
});
