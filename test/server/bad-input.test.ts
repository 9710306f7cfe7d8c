// Bad input gets a clear answer and loses nothing else: long lines, invalid UTF-8, clients that die.
import { once } from 'node:events';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { destroyAllClients, joinRoom, LineClient } from '../helpers/line-client.js';
import { ENGINES, killLeftovers, spawnTracked, startServer, type ServerProcess } from '../helpers/server.js';

const KIB = 1024;

/** A client in its own process: joins, writes half a line, says "ready" and waits to be killed. */
const HALF_LINE_CLIENT = `
const socket = require('node:net').connect(Number(process.argv[1]), process.argv[2], () => {
  socket.write('half a line, never finished', () => process.stdout.write('ready\\n'));
});
socket.on('data', () => {});
setInterval(() => {}, 1000);
`;

describe.each(ENGINES)('bad input (engine %s)', (engine) => {
  afterEach(async () => {
    destroyAllClients();
    await killLeftovers();
  });
  afterAll(killLeftovers);

  /** A chat server with flags, and n members who have all seen each other join. */
  async function chat(n: number, flags: string[] = []): Promise<{ server: ServerProcess; clients: LineClient[] }> {
    const server = await startServer(engine, ['--mode', 'chat', ...flags]);
    return { server, clients: await joinRoom(server.host, server.port, n) };
  }

  it('a line over --max-line gets "! line too long (max N bytes)"; the connection and everyone else carry on', async () => {
    const { clients: [a, b, c] } = await chat(3, ['--max-line', '1024']);
    await a!.send(`${'x'.repeat(1025)}\n`);
    await a!.expectLine('! line too long (max 1024 bytes)');
    await b!.send('b still talks\n');
    await a!.expectLine('[guest-2] b still talks');
    await c!.expectLine('[guest-2] b still talks');
    await a!.send('a still talks\n');
    await b!.expectLine('[guest-1] a still talks');
    await c!.expectLine('[guest-1] a still talks');
    await a!.expectNoLine();
  });

  it('a line of exactly --max-line bytes is accepted', async () => {
    const { clients: [a, b] } = await chat(2, ['--max-line', '1024']);
    const text = 'm'.repeat(1024);
    await a!.send(`${text}\n`);
    await b!.expectLine(`[guest-1] ${text}`);
    await a!.expectNoLine();
  });

  it('an over-long line sent in pieces is answered once, and the rest of it is skipped', async () => {
    const { clients: [a, b] } = await chat(2, ['--max-line', '1024']);
    await a!.sendSlowly(`${'p'.repeat(5000)}\nafter\n`, 700, 2);
    await a!.expectLine('! line too long (max 1024 bytes)');
    await b!.expectLine('[guest-1] after');
    await a!.expectNoLine();
    await b!.expectNoLine();
  });

  it('default limit: a 60 KiB line is delivered whole, a 70 KiB line is rejected', async () => {
    const { clients: [a, b] } = await chat(2);
    const sixty = 'w'.repeat(60 * KIB);
    await a!.send(`${sixty}\n`);
    const line = await b!.nextLine();
    expect(line.length).toBe(`[guest-1] `.length + 60 * KIB);
    expect(line).toBe(`[guest-1] ${sixty}`);
    await a!.send(`${'s'.repeat(70 * KIB)}\nshort\n`);
    await a!.expectLine('! line too long (max 65536 bytes)');
    await b!.expectLine('[guest-1] short');
  });

  it.each([
    ['ff fe', [0xff, 0xfe]],
    ['overlong c0 af', [0xc0, 0xaf]],
    ['lone surrogate ed a0 80', [0xed, 0xa0, 0x80]],
    ['truncated sequence e2 82 then text', [0xe2, 0x82, 0x41]],
  ])('invalid UTF-8 (%s) gets "! invalid UTF-8, line dropped"; the next line goes through', async (_, bytes) => {
    const { clients: [a, b] } = await chat(2);
    await a!.send(Buffer.concat([Buffer.from('bad '), Buffer.from(bytes), Buffer.from('\ngood\n')]));
    await a!.expectLine('! invalid UTF-8, line dropped');
    await b!.expectLine('[guest-1] good');
    await b!.expectNoLine();
  });

  it('an RST mid-line drops the partial line: the others only see it leave', async () => {
    const { clients: [a, b] } = await chat(2);
    await a!.send('half a li');
    a!.destroyWithReset();
    // The spec allows either reason: libuv reports an RST after a short read as EOF.
    await b!.expectLine(/^\* guest-1 left \((connection reset|closed)\)$/);
    await b!.expectNoLine();
  });

  it('kill -9 of a client process mid-line: the others see it leave, the partial line is dropped', async () => {
    const { server, clients: [a] } = await chat(1);
    const child = spawnTracked(process.execPath, ['-e', HALF_LINE_CLIENT, String(server.port), server.host]);
    child.stdout!.setEncoding('utf8');
    await a!.expectLine('* guest-2 joined');
    const [ready] = await Promise.race([once(child.stdout!, 'data'), once(child, 'exit').then(() => ['exited'])]);
    expect(ready).toBe('ready\n');
    child.kill('SIGKILL');
    await a!.expectLine(/^\* guest-2 left \((closed|connection reset)\)$/);
    await a!.expectNoLine();
    a!.end();
    await a!.closed();
  });
});
