// Nothing leaks when clients die abruptly: the server's fd count and its room return to where
// they were after hundreds of aborted connections.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { destroyAllClients, LineClient } from '../helpers/line-client.js';
import { ENGINES, killLeftovers, startServer } from '../helpers/server.js';

/** Connect/abort cycles per test. */
const CYCLES = 200;
/** Cycles run at once. */
const PARALLEL = 10;

describe.each(ENGINES)('no leaks (engine %s)', (engine) => {
  afterEach(async () => {
    destroyAllClients();
    await killLeftovers();
  });
  afterAll(killLeftovers);

  /** Runs CYCLES cycles, PARALLEL at a time. */
  async function cycles(one: () => Promise<void>): Promise<void> {
    for (let done = 0; done < CYCLES; done += PARALLEL) {
      await Promise.all(Array.from({ length: PARALLEL }, one));
    }
  }

  it(`/proc/PID/fd count returns to baseline after ${CYCLES} connect/abort (RST) cycles, and the room is empty again`, async () => {
    const server = await startServer(engine);
    const observer = await LineClient.join(server.host, server.port);
    const baseline = server.openFds().length;

    await cycles(async () => {
      const client = await LineClient.join(server.host, server.port);
      await client.send('half a line');
      client.destroyWithReset();
    });

    expect(await server.settleFdCount(baseline)).toBe(baseline);
    await observer.send('/who\n');
    const before = await observer.skipUntil('* users: guest-1');
    expect(before.filter((line) => / joined$/.test(line))).toHaveLength(CYCLES);
    // An RST right after data may read as EOF (libuv reports POLLHUP after a short read as EOF).
    expect(before.filter((line) => / left \((connection reset|closed)\)$/.test(line))).toHaveLength(CYCLES);
  });

  it(`/proc/PID/fd count returns to baseline after ${CYCLES} connections reset before the server answered`, async () => {
    const server = await startServer(engine);
    const baseline = server.openFds().length;

    await cycles(async () => {
      const client = await LineClient.connect(server.host, server.port);
      client.destroyWithReset();
    });

    // Reset connections may still wait in the kernel's accept queue, where they are not fds yet:
    // wait until a newcomer is alone in the room, so every one of them was accepted and closed.
    const deadline = Date.now() + 10_000;
    let alone = false;
    while (!alone && Date.now() < deadline) {
      const probe = await LineClient.connect(server.host, server.port);
      alone = / 1 users online;/.test(await probe.nextLine());
      probe.destroyWithReset();
      if (!alone) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(alone).toBe(true);
    expect(await server.settleFdCount(baseline)).toBe(baseline);
    // The server still serves.
    const a = await LineClient.connect(server.host, server.port);
    await a.expectLine(/^\* welcome guest-\d+, 1 users online; \/help for commands$/);
  });
});
