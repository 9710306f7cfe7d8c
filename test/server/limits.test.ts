// The limit flags over real sockets: --max-clients and --idle-timeout.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { destroyAllClients, LineClient } from '../helpers/line-client.js';
import { ENGINES, killLeftovers, startServer } from '../helpers/server.js';

/** How often the idle-timeout test's talker sends an empty line to stay active. */
const KEEPALIVE_MS = 200;

describe.each(ENGINES)('limits (engine %s)', (engine) => {
  afterEach(async () => {
    destroyAllClients();
    await killLeftovers();
  });
  afterAll(killLeftovers);

  it('over --max-clients the newcomer gets "! server full" and is closed; everyone else carries on', async () => {
    const server = await startServer(engine, ['--max-clients', '2']);
    const a = await LineClient.join(server.host, server.port);
    const b = await LineClient.join(server.host, server.port);
    await a.expectLine('* guest-2 joined');

    const refused = await LineClient.connect(server.host, server.port);
    await refused.expectLine('! server full');
    await refused.ended();
    await refused.closed();
    await a.expectNoLine();

    await a.send('still here\n');
    await b.expectLine('[guest-1] still here');
    b.end();
    await a.expectLine('* guest-2 left (closed)');

    // A place is free again.
    const c = await LineClient.connect(server.host, server.port);
    await c.expectLine(/^\* welcome guest-\d+, 2 users online; \/help for commands$/);
    await a.expectLine(/^\* guest-\d+ joined$/);
  });

  it('--max-clients applies in echo mode too', async () => {
    const server = await startServer(engine, ['--mode', 'echo', '--max-clients', '1']);
    const a = await LineClient.connect(server.host, server.port);
    await a.send('first\n');
    await a.expectLine('first');
    const refused = await LineClient.connect(server.host, server.port);
    await refused.expectLine('! server full');
    await refused.ended();
    await a.send('again\n');
    await a.expectLine('again');
  });

  it('--idle-timeout 1 drops a silent client within ~2.5 s: the others see "* NICK left (idle timeout)"', async () => {
    const server = await startServer(engine, ['--idle-timeout', '1']);
    const started = performance.now();
    const silent = await LineClient.join(server.host, server.port);
    const talker = await LineClient.join(server.host, server.port);
    await silent.expectLine('* guest-2 joined');
    // Empty lines are ignored by the room but are traffic: they keep the talker active.
    const keepalive = setInterval(() => void talker.send('\n').catch(() => {}), KEEPALIVE_MS);
    try {
      await talker.expectLine('* guest-1 left (idle timeout)', 2_500);
      const elapsed = performance.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(900);
      expect(elapsed).toBeLessThan(2_500);
      await silent.ended(500);
      await talker.send('/who\n');
      await talker.expectLine('* users: guest-2');
    } finally {
      clearInterval(keepalive);
    }
  });
});
