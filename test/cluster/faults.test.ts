// Faults over real sockets and a real Redis: a node killed with SIGKILL, Redis stopped and started
// again. Each bounded in time; the figures the README quotes are printed by these tests.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { destroyAllClients, LineClient } from '../helpers/line-client.js';
import { killLeftovers, startServer, type ServerProcess } from '../helpers/server.js';
import { NO_REDIS, TestRedis } from './redis.js';

/** The bound: a lost node's members are reported gone, and chat spans the cluster again. */
const WITHIN_MS = 10_000;

describe.skipIf(NO_REDIS !== null)('cluster faults', () => {
  let redis: TestRedis | null = null;

  afterEach(async () => {
    destroyAllClients();
    await killLeftovers();
    await redis?.remove();
    redis = null;
  });
  afterAll(killLeftovers);

  it('kill -9 of a node: every other node reports each of its members "left (node lost)" within 10 s and frees their nicks', async () => {
    redis = await TestRedis.start();
    const [a, b, c] = await Promise.all([
      startServer('select', ['--redis', redis.url]),
      startServer('libuv', ['--redis', redis.url]),
      startServer('select', ['--redis', redis.url]),
    ]);
    const onA = (): Promise<LineClient> => LineClient.join(a.host, a.port);
    const a1 = await onA();
    await a1.send('/nick doomed\n');
    await a1.expectLine('* guest-1 is now doomed');
    const a2 = await onA();
    const b1 = await LineClient.join(b.host, b.port);
    const c1 = await LineClient.join(c.host, c.port);
    await a2.skipUntil('* guest-4 joined');
    await b1.skipUntil('* guest-4 joined');

    const killed = performance.now();
    a.child.kill('SIGKILL');
    for (const client of [b1, c1]) {
      await client.skipUntil('* doomed left (node lost)', WITHIN_MS);
      await client.expectLine('* guest-2 left (node lost)', 100);
    }
    const took = performance.now() - killed;
    console.log(`kill -9: members reported "left (node lost)" after ${took.toFixed(0)} ms`);
    expect(took).toBeLessThan(WITHIN_MS);

    // Nothing else lost: the rest of the cluster still talks, and the nick is free.
    await b1.send('/nick doomed\nstill here\n');
    await b1.expectLine('* guest-3 is now doomed');
    await c1.expectLine('* guest-3 is now doomed');
    await c1.expectLine('[doomed] still here');
    await c1.send('/who\n');
    await c1.expectLine('* users: doomed, guest-4');
  });

  it('Redis stopped: nodes serve their own members and say so once; Redis back: they say so and chat spans the cluster within 10 s; the password is never printed', async () => {
    const password = 'pw-never-printed';
    redis = await TestRedis.start({ tcp: true, password });
    const [a, b] = await Promise.all([startServer('select', ['--redis', redis.url]), startServer('libuv', ['--redis', redis.url])]);
    const a1 = await LineClient.join(a.host, a.port);
    const a2 = await LineClient.join(a.host, a.port);
    const b1 = await LineClient.join(b.host, b.port);
    await a1.skipUntil('* guest-3 joined');
    await a2.skipUntil('* guest-3 joined');

    await redis.stop();
    const unreachable = "* the cluster is unreachable: only this server's members hear you now";
    for (const client of [a1, a2, b1]) await client.expectLine(unreachable);
    // Within a node chat goes on; nothing crosses; a rename must wait; a newcomer is served.
    await a1.send('just us\n/nick later\n');
    await a2.expectLine('[guest-1] just us');
    await a1.expectLine('! nick changes need the cluster, which is unreachable: try again later');
    const b2 = await LineClient.connect(b.host, b.port);
    await b2.expectLine('* welcome guest-4, 4 users online; /help for commands');
    await b2.expectLine(unreachable);
    await b1.expectLine('* guest-4 joined');
    await b1.expectNoLine(300);
    // Told once, however long it lasts.
    await a1.expectNoLine(1000);

    const restarted = performance.now();
    await redis.restart();
    const back = "* the cluster is back: every server's members hear you again";
    // Node A learns of B's newcomer from B's registration, which may come before or after its own.
    const heard = await a1.skipUntil(back, WITHIN_MS);
    const took = performance.now() - restarted;
    console.log(`Redis restarted: "the cluster is back" after ${took.toFixed(0)} ms`);
    if (!heard.includes('* guest-4 joined')) await a1.expectLine('* guest-4 joined', WITHIN_MS);
    for (const client of [a2, b1, b2]) await client.skipUntil(back, WITHIN_MS);
    await b2.send('across again\n');
    for (const client of [a1, a2, b1]) await client.skipUntil('[guest-4] across again', WITHIN_MS);
    await a1.send('/nick later\n/who\n');
    await a1.expectLine('* guest-1 is now later');
    await a1.expectLine('* users: later, guest-2, guest-3, guest-4');
    await b1.skipUntil('* guest-1 is now later');
    expect(performance.now() - restarted).toBeLessThan(WITHIN_MS);

    for (const server of [a, b]) {
      expect(server.stderr).toMatch(/lost Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+/);
      expect(server.stderr).toMatch(/Redis is back at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+/);
      expect(server.stderr).not.toContain(password);
      const exit = await (server as ServerProcess).stop();
      expect(exit).toEqual({ code: 0, signal: null });
    }
  });

  it('a Redis that hangs (SIGSTOP) counts as unreachable within seconds; when it answers again, the cluster is back', async () => {
    redis = await TestRedis.start();
    const [a, b] = await Promise.all([startServer('select', ['--redis', redis.url]), startServer('libuv', ['--redis', redis.url])]);
    const a1 = await LineClient.join(a.host, a.port);
    const b1 = await LineClient.join(b.host, b.port);
    await a1.expectLine('* guest-2 joined');

    const frozen = performance.now();
    redis.freeze();
    const unreachable = "* the cluster is unreachable: only this server's members hear you now";
    for (const client of [a1, b1]) await client.expectLine(unreachable, WITHIN_MS);
    console.log(`Redis frozen: "unreachable" after ${(performance.now() - frozen).toFixed(0)} ms`);
    redis.thaw();
    const back = "* the cluster is back: every server's members hear you again";
    for (const client of [a1, b1]) await client.skipUntil(back, WITHIN_MS);
    await a1.send('across again\n');
    await b1.skipUntil('[guest-1] across again', WITHIN_MS);
    for (const server of [a, b]) expect(server.stderr).toMatch(/lost Redis at .* \(no answer for \d+ ms\)/);
  });

  it('two servers that gave out the same guest nick during an outage: one gets a fresh nick when Redis is back', async () => {
    redis = await TestRedis.start({ tcp: true });
    const [a, b] = await Promise.all([startServer('select', ['--redis', redis.url]), startServer('libuv', ['--redis', redis.url])]);
    const a1 = await LineClient.join(a.host, a.port);
    const b1 = await LineClient.join(b.host, b.port);
    await a1.expectLine('* guest-2 joined');
    await redis.stop();
    const unreachable = "* the cluster is unreachable: only this server's members hear you now";
    for (const client of [a1, b1]) await client.expectLine(unreachable);
    // Each server alone hands out the next guest number it knows of: the same one.
    const a2 = await LineClient.connect(a.host, a.port);
    const b2 = await LineClient.connect(b.host, b.port);
    await a2.expectLine('* welcome guest-3, 3 users online; /help for commands');
    await b2.expectLine('* welcome guest-3, 3 users online; /help for commands');

    await redis.restart();
    const back = "* the cluster is back: every server's members hear you again";
    const heard = await Promise.all([a1, a2, b1, b2].map(async (client) => [...(await client.skipUntil(back, WITHIN_MS)), ...(await quiet(client))]));
    // Exactly one of the two was renamed: its own server's members see the rename, the other
    // server's see it join under its new nick (they never knew the old one).
    const renamed = heard.map((lines) => lines.filter((line) => /^\* guest-3 is now guest-\d+$/.test(line)).length);
    expect([renamed.slice(0, 2), renamed.slice(2)].map(String).sort(), JSON.stringify(heard)).toEqual(['0,0', '1,1']);
    const fresh = heard.flat().find((line) => /^\* guest-3 is now /.test(line))!.slice('* guest-3 is now '.length);
    const others = renamed[0] === 1 ? heard.slice(2) : heard.slice(0, 2);
    for (const lines of others) expect(lines, JSON.stringify(heard)).toContain(`* ${fresh} joined`);
    await a1.send('/who\n');
    const who = await a1.nextLine();
    const nicks = who.slice('* users: '.length).split(', ');
    expect(nicks).toHaveLength(4);
    expect(new Set(nicks.map((nick) => nick.toLowerCase())).size).toBe(4);
  });
});

/** The lines that arrive until the connection has been quiet a moment. */
async function quiet(client: LineClient): Promise<string[]> {
  const lines: string[] = [];
  for (;;) {
    try {
      lines.push(await client.nextLine(500));
    } catch {
      return lines;
    }
  }
}
