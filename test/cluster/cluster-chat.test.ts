// Two servers, one room: node A on the select engine and node B on libuv, joined through a private
// redis-server on a unix socket. Every protocol line crosses between them as it does within one.
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { destroyAllClients, LineClient } from '../helpers/line-client.js';
import { killLeftovers, runServe, startServer, type ServerProcess } from '../helpers/server.js';
import { NO_REDIS, TestRedis } from './redis.js';

describe.skipIf(NO_REDIS !== null)('a cluster of two nodes on one Redis (select + libuv)', () => {
  let redis: TestRedis;
  let a: ServerProcess;
  let b: ServerProcess;

  beforeEach(async () => {
    redis = await TestRedis.start();
    [a, b] = await Promise.all([startServer('select', ['--redis', redis.url]), startServer('libuv', ['--redis', redis.url])]);
  });
  afterEach(async () => {
    destroyAllClients();
    await killLeftovers();
    await redis.remove();
  });
  afterAll(killLeftovers);

  const onA = (): Promise<LineClient> => LineClient.join(a.host, a.port);
  const onB = (): Promise<LineClient> => LineClient.join(b.host, b.port);

  it('welcomes with the cluster-wide count and tells every node of a join', async () => {
    const a1 = await LineClient.connect(a.host, a.port);
    await a1.expectLine('* welcome guest-1, 1 users online; /help for commands');
    const b1 = await LineClient.connect(b.host, b.port);
    await b1.expectLine('* welcome guest-2, 2 users online; /help for commands');
    await a1.expectLine('* guest-2 joined');
    const a2 = await LineClient.connect(a.host, a.port);
    await a2.expectLine('* welcome guest-3, 3 users online; /help for commands');
    await a1.expectLine('* guest-3 joined');
    await b1.expectLine('* guest-3 joined');
  });

  it('delivers lines, actions, renames and leaves across nodes in the order each sender sent them', async () => {
    const a1 = await onA();
    const b1 = await onB();
    await a1.expectLine('* guest-2 joined');
    const script: string[] = [];
    for (let i = 0; i < 40; i++) script.push(`line ${i}`, `/me acts ${i}`);
    script.splice(30, 0, '/nick ann');
    script.push('/quit done');
    await a1.send(`${script.join('\n')}\n`);
    const expected: string[] = [];
    let nick = 'guest-1';
    for (const text of script) {
      if (text === '/nick ann') {
        expected.push('* guest-1 is now ann');
        nick = 'ann';
      } else if (text.startsWith('/me ')) {
        expected.push(`[${nick}] *${text.slice(4)}*`);
      } else if (text.startsWith('/quit')) {
        expected.push(`* ${nick} left (quit: done)`);
      } else {
        expected.push(`[${nick}] ${text}`);
      }
    }
    for (const line of expected) await b1.expectLine(line);
    await b1.expectNoLine();
  });

  it('/who is cluster-wide, in join order, and forgets who left', async () => {
    const a1 = await onA();
    const b1 = await onB();
    await a1.expectLine('* guest-2 joined');
    const a2 = await onA();
    await b1.expectLine('* guest-3 joined');
    const b2 = await onB();
    await a2.expectLine('* guest-4 joined');
    await b2.send('/nick bee\n');
    for (const client of [a1, a2, b1, b2]) await client.skipUntil('* guest-4 is now bee');
    await a1.send('/who\n');
    await a1.skipUntil('* users: guest-1, guest-2, guest-3, bee');
    a2.end();
    await b1.skipUntil('* guest-3 left (closed)');
    await b2.send('/who\n');
    await b2.skipUntil('* users: guest-1, guest-2, bee');
  });

  it('nicks are unique across nodes ignoring case, and /quit frees one at once', async () => {
    const a1 = await onA();
    const b1 = await onB();
    await a1.send('/nick Alice\n');
    await b1.skipUntil('* guest-1 is now Alice');
    await b1.send('/nick aLiCe\n');
    await b1.expectLine('! nick taken');
    await a1.send('/quit\n');
    await b1.expectLine('* Alice left (quit)');
    await b1.send('/nick alice\n');
    await b1.expectLine('* guest-2 is now alice');
  });

  it('two nodes racing for one nick: exactly one wins, every time', async () => {
    const a1 = await onA();
    const b1 = await onB();
    await a1.expectLine('* guest-2 joined');
    for (let round = 0; round < 20; round++) {
      const nick = `racer-${round}`;
      await Promise.all([a1.send(`/nick ${nick}\n`), b1.send(`/nick ${nick.toUpperCase()}\n`)]);
      // Each sees its own answer and, if the other won, the other's rename.
      const answers = await Promise.all([a1, b1].map(async (client) => [await client.nextLine(), ...(await drain(client))]));
      const all = answers.flat();
      const wins = all.filter((line) => new RegExp(`is now ${nick}$`, 'i').test(line));
      const losses = all.filter((line) => line === '! nick taken');
      // The winner's rename reaches both (2 lines); the loser alone hears "! nick taken".
      expect(wins, JSON.stringify(answers)).toHaveLength(2);
      expect(new Set(wins).size, JSON.stringify(answers)).toBe(1);
      expect(losses, JSON.stringify(answers)).toHaveLength(1);
    }
  });

  it('lines sent while a rename waits for Redis are kept in order, at most 100 of them', async () => {
    const a1 = await onA();
    const b1 = await onB();
    await a1.expectLine('* guest-2 joined');
    const lines = Array.from({ length: 130 }, (_, i) => `after ${i}`);
    // One write: the rename makes a1 wait, and the lines behind it arrive in the same read.
    await a1.send(`/nick waiter\n${lines.join('\n')}\n`);
    await b1.expectLine('* guest-1 is now waiter');
    for (const text of lines.slice(0, 100)) await b1.expectLine(`[waiter] ${text}`);
    await b1.expectNoLine();
    const refused = '! too many lines while the server was busy with your last command, line dropped';
    const heard = [await a1.nextLine(), ...(await drain(a1))];
    expect(heard.filter((line) => line === refused)).toHaveLength(30);
    expect(heard).toContain('* guest-1 is now waiter');
  });

  it('tells the other node why a member left: closed, connection reset', async () => {
    const a1 = await onA();
    const a2 = await onA();
    const b1 = await onB();
    await a1.skipUntil('* guest-3 joined');
    a1.end();
    await b1.expectLine('* guest-1 left (closed)');
    a2.destroyWithReset();
    await b1.expectLine('* guest-2 left (connection reset)');
  });

  it('a node that shuts down says goodbye to its own and the others see its members leave', async () => {
    const a1 = await onA();
    const b1 = await onB();
    await a1.expectLine('* guest-2 joined');
    const exit = await a.stop('SIGTERM');
    expect(exit).toEqual({ code: 0, signal: null });
    await a1.expectLine('* server shutting down');
    await b1.expectLine('* guest-1 left (server shutting down)');
    await b1.send('/who\n');
    await b1.expectLine('* users: guest-2');
  });
});

/** Lines that arrive within a short quiet period. */
async function drain(client: LineClient): Promise<string[]> {
  const lines: string[] = [];
  for (;;) {
    try {
      lines.push(await client.nextLine(150));
    } catch {
      return lines;
    }
  }
}

describe.skipIf(NO_REDIS !== null)('serve --redis: bad URLs and an unreachable Redis', () => {
  afterAll(killLeftovers);

  it('a malformed URL is a usage error (exit 2) that never shows the password', async () => {
    const run = await runServe('select', ['--port', '0', '--redis', 'redis://:hunter2@127.0.0.1:notaport']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^selectchat: --redis must be redis:\/\/.*unix:\/\/\//m);
    expect(run.stderr + run.stdout).not.toContain('hunter2');
  });

  it('--redis is for the chat room', async () => {
    const run = await runServe('select', ['--port', '0', '--mode', 'echo', '--redis', 'redis://127.0.0.1:1']);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe('selectchat: --redis is for the chat room (--mode chat)\n');
  });

  it('an unreachable Redis fails at once (exit 1), naming the URL without its password', async () => {
    const run = await runServe('select', ['--port', '0', '--redis', 'redis://:hunter2@127.0.0.1:1']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^selectchat: cannot reach Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:1: .*ECONNREFUSED/m);
    expect(run.stderr + run.stdout).not.toContain('hunter2');
  });

  it('a wrong password fails at once without showing either password', async () => {
    const redis = await TestRedis.start({ tcp: true, password: 'right-one' });
    try {
      const run = await runServe('select', ['--port', '0', '--redis', redis.url.replace('right-one', 'wrong-one')]);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/cannot reach Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+: .*(WRONGPASS|invalid)/);
      expect(run.stderr + run.stdout).not.toMatch(/right-one|wrong-one/);
    } finally {
      await redis.remove();
    }
  });
});
