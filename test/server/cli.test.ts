// `selectchat serve` as a user starts it: bad flags, a port in use, IPv6.
import { createServer } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { destroyAllClients, LineClient } from '../helpers/line-client.js';
import { ENGINES, killLeftovers, runServe, startServer } from '../helpers/server.js';

/** A line of a JS stack trace: what a clean error message never shows. */
const STACK_FRAME = /^\s+at /m;

/** Can this machine listen on ::1? */
function hasIPv6Loopback(): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(0, '::1', () => probe.close(() => resolve(true)));
  });
}

const ipv6 = await hasIPv6Loopback();

describe.each(ENGINES)('serve command line (engine %s)', (engine) => {
  afterEach(async () => {
    destroyAllClients();
    await killLeftovers();
  });
  afterAll(killLeftovers);

  it.each([
    ['--port abc', ['--port', 'abc'], /--port/],
    ['--port 70000', ['--port', '70000'], /--port/],
    ['an unknown flag', ['--port', '0', '--bogus'], /bogus/],
    ['--mode nope', ['--port', '0', '--mode', 'nope'], /--mode/],
    ['--max-line 0', ['--port', '0', '--max-line', '0'], /--max-line/],
    ['--idle-timeout -1', ['--port', '0', '--idle-timeout', '-1'], /--idle-timeout/],
    ['--idle-timeout 0.0001 (the loop would spin)', ['--port', '0', '--idle-timeout', '0.0001'], /--idle-timeout must be 0 \(off\) or at least 0\.1 seconds/],
    ['--soft-seconds 0', ['--port', '0', '--soft-seconds', '0'], /--soft-seconds must be at least 0\.1 seconds/],
    ['--soft-queue -5', ['--port', '0', '--soft-queue', '-5'], /--soft-queue/],
  ])('a usage error (%s) exits with code 2 and says why on stderr', async (_, flags, why) => {
    const run = await runServe(engine, flags);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(why);
    expect(run.stderr).not.toMatch(STACK_FRAME);
    expect(run.stdout).not.toMatch(/listening on/);
  });

  it('a port in use exits with code 1 and EADDRINUSE on stderr, no stack trace', async () => {
    const first = await startServer(engine);
    const run = await runServe(engine, ['--port', String(first.port)]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/EADDRINUSE/);
    expect(run.stderr).not.toMatch(STACK_FRAME);
    // The first server is untouched.
    const a = await LineClient.connect(first.host, first.port);
    await a.expectLine('* welcome guest-1, 1 users online; /help for commands');
  });

  it('--host ::1 listens on IPv6 loopback and prints it without brackets', async (ctx) => {
    ctx.skip(!ipv6, 'this machine has no IPv6 loopback (::1)');
    const server = await startServer(engine, ['--host', '::1']);
    expect(server.host).toBe('::1');
    const a = await LineClient.join('::1', server.port);
    const b = await LineClient.join('::1', server.port);
    await a.expectLine('* guest-2 joined');
    await a.send('over IPv6\n');
    await b.expectLine('[guest-1] over IPv6');
  });

  it('--host localhost listens on 127.0.0.1', async () => {
    const server = await startServer(engine, ['--host', 'localhost']);
    expect(server.host).toBe('127.0.0.1');
    const a = await LineClient.connect('127.0.0.1', server.port);
    await a.expectLine(/^\* welcome guest-1, 1 users online/);
  });
});
