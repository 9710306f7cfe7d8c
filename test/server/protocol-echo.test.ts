// Echo mode over real sockets: each complete line comes back as itself, nothing else but errors.
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { destroyAllClients, LineClient } from '../helpers/line-client.js';
import { ENGINES, killLeftovers, startServer, type ServerProcess } from '../helpers/server.js';

describe.each(ENGINES)('echo protocol (engine %s)', (engine) => {
  let server: ServerProcess;

  beforeEach(async () => {
    server = await startServer(engine, ['--mode', 'echo', '--max-line', '1024']);
  });
  afterEach(async () => {
    destroyAllClients();
    await killLeftovers();
  });
  afterAll(killLeftovers);

  const connect = (): Promise<LineClient> => LineClient.connect(server.host, server.port);

  it('prints the ready line with mode echo', () => {
    expect(server.mode).toBe('echo');
    expect(server.engine).toBe(engine);
  });

  it('sends no greeting', async () => {
    const a = await connect();
    await a.expectNoLine();
  });

  it('sends each line back to its sender only', async () => {
    const a = await connect();
    const b = await connect();
    await a.send('hello\n');
    await a.expectLine('hello');
    await b.expectNoLine();
  });

  it('treats chat commands as plain lines', async () => {
    const a = await connect();
    await a.send('/nick bob\n/who\n/quit\n');
    await a.expectLine('/nick bob');
    await a.expectLine('/who');
    await a.expectLine('/quit');
    await a.send('still open\n');
    await a.expectLine('still open');
  });

  it('echoes empty lines', async () => {
    const a = await connect();
    await a.send('\n\r\nx\n');
    await a.expectLine('');
    await a.expectLine('');
    await a.expectLine('x');
  });

  it('answers an over-long line with the error and echoes the next one', async () => {
    const a = await connect();
    await a.send(`${'y'.repeat(1025)}\nnext\n`);
    await a.expectLine('! line too long (max 1024 bytes)');
    await a.expectLine('next');
  });

  it('answers invalid UTF-8 with the error and echoes the next line', async () => {
    const a = await connect();
    await a.send(Buffer.from([0x61, 0xff, 0xfe, 0x0a, 0x62, 0x0a]));
    await a.expectLine('! invalid UTF-8, line dropped');
    await a.expectLine('b');
  });

  it('says nothing to the others when a client leaves', async () => {
    const a = await connect();
    const b = await connect();
    b.end();
    await b.closed();
    await a.expectNoLine();
  });
});
