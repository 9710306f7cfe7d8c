// net-ref, the benchmark's hand-tuned `net` server (src/bench/net-ref.ts): the ready line, the
// protocol subset the load generator speaks (echo; chat welcome, joins, relays, leaves), the
// two errors it knows, and a clean exit on SIGTERM. Its speed is the bench's business.
import { afterEach, describe, expect, it } from 'vitest';
import { serverCommand } from '../../src/bench/run-server.js';
import { ServerProcess } from '../../src/process/server-process.js';
import { destroyAllClients, LineClient } from '../helpers/line-client.js';
import { killLeftovers } from '../helpers/server.js';

async function start(mode: 'echo' | 'chat'): Promise<ServerProcess> {
  const { command, args } = serverCommand('net-ref', mode);
  return ServerProcess.start(command, args);
}

afterEach(async () => {
  destroyAllClients();
  await killLeftovers();
});

describe('net-ref', () => {
  it('echo: prints the ready line, echoes lines split and joined across writes, strips \\r, exits 0 on SIGTERM', async () => {
    const server = await start('echo');
    expect(server.engine).toBe('net-ref');
    expect(server.mode).toBe('echo');
    const client = await LineClient.connect(server.host, server.port);
    await client.send('one\ntwo\r\nthr');
    await client.expectLine('one');
    await client.expectLine('two');
    await client.send('ee\n\nfour\n');
    await client.expectLine('three');
    await client.expectLine('');
    await client.expectLine('four');
    expect(await server.stop()).toMatchObject({ code: 0, killed: false });
  });

  it('echo: a line over 65536 bytes gets "! line too long" and is dropped up to its \\n', async () => {
    const server = await start('echo');
    const client = await LineClient.connect(server.host, server.port);
    await client.sendSlowly(`${'x'.repeat(70_000)}\nafter\n`, 16_384, 5);
    await client.expectLine('! line too long (max 65536 bytes)');
    await client.expectLine('after');
    await client.expectNoLine();
  });

  it('chat: welcome, joined, "[nick] text" to the others only, unknown command, left', async () => {
    const server = await start('chat');
    const ann = await LineClient.join(server.host, server.port);
    const bob = await LineClient.connect(server.host, server.port);
    await bob.expectLine(/^\* welcome guest-2, 2 users online; /);
    await ann.expectLine('* guest-2 joined');
    await ann.send('hello\r\n\n');
    await bob.expectLine('[guest-1] hello');
    await ann.expectNoLine();
    await bob.send('/nick bob\n');
    await bob.expectLine('! unknown command');
    bob.end();
    await ann.expectLine('* guest-2 left (closed)');
    await ann.expectNoLine();
  });
});
