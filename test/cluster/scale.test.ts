// The target: `--workers 4 --redis` on the select engine holds 3500 clients in one room —
// more than three select() processes could (FD_SETSIZE) — and a line from one reaches all the
// others. Plain sockets that only look for the lines that matter: 3500 joins make ~6 M join lines.
import { connect, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { openFdLimit } from '../helpers/fds.js';
import { killLeftovers, startServer } from '../helpers/server.js';
import { NO_REDIS, TestRedis } from './redis.js';

const CLIENTS = 3500;
/** Connections opened at once (each worker's listen backlog is 511). */
const CONNECT_BATCH = 250;
/** Every bounded wait of this file; the whole test takes far less on 2 cores. */
const LIMIT_MS = 150_000;
const MARKER = 'a line for all 3500';

/** One client: was it welcomed or refused, and has it seen the marker line? */
class Watcher {
  first = '';
  heard = false;
  #head = '';
  #tail = '';

  constructor(readonly socket: Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (text: string) => {
      if (this.first === '') {
        this.#head += text;
        const nl = this.#head.indexOf('\n');
        if (nl >= 0) this.first = this.#head.slice(0, nl);
      }
      // Only the marker matters: look for it across chunk boundaries, keep nothing else.
      const window = this.#tail + text;
      if (!this.heard && window.includes(MARKER)) this.heard = true;
      this.#tail = window.slice(-MARKER.length);
    });
    socket.on('error', () => {});
  }
}

async function until(test: () => boolean, why: () => string): Promise<void> {
  const deadline = performance.now() + LIMIT_MS;
  while (!test()) {
    if (performance.now() > deadline) throw new Error(why());
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const problem = NO_REDIS ?? (openFdLimit() < CLIENTS + 500 ? `the fd soft limit is ${openFdLimit()}; this test needs ${CLIENTS + 500}` : null);

describe.skipIf(problem !== null)(`${CLIENTS} clients on 4 select workers`, () => {
  afterAll(killLeftovers);

  it(`serves all ${CLIENTS} in one room, and one line reaches the ${CLIENTS - 1} others`, { timeout: LIMIT_MS * 2 }, async () => {
    const redis = await TestRedis.start();
    const watchers: Watcher[] = [];
    try {
      const server = await startServer('select', ['--workers', '4', '--redis', redis.url]);
      const started = performance.now();
      for (let i = 0; i < CLIENTS; i += CONNECT_BATCH) {
        const batch = await Promise.all(Array.from({ length: Math.min(CONNECT_BATCH, CLIENTS - i) }, () =>
          new Promise<Watcher>((resolve, reject) => {
            const socket = connect({ host: server.host, port: server.port });
            socket.once('connect', () => resolve(new Watcher(socket)));
            socket.once('error', reject);
          })));
        watchers.push(...batch);
      }
      await until(() => watchers.every((w) => w.first !== ''), () => `${watchers.filter((w) => w.first === '').length} clients never heard a first line`);
      const refused = watchers.filter((w) => !w.first.startsWith('* welcome ')).map((w) => w.first);
      expect(refused, `refused: ${refused.slice(0, 3)}`).toEqual([]);
      const joined = performance.now() - started;

      const sent = performance.now();
      watchers[0]!.socket.write(`${MARKER}\n`);
      await until(() => watchers.slice(1).every((w) => w.heard), () => `${watchers.slice(1).filter((w) => !w.heard).length} of ${CLIENTS - 1} never heard the line`);
      console.log(`${CLIENTS} clients on 4 select workers: all welcomed in ${(joined / 1000).toFixed(1)} s; one line reached the other ${CLIENTS - 1} ${((performance.now() - sent) / 1000).toFixed(1)} s later (behind the ~6 M join lines still being delivered)`);
      expect(watchers[0]!.heard).toBe(false);
    } finally {
      for (const watcher of watchers) watcher.socket.destroy();
      await killLeftovers();
      await redis.remove();
    }
  });
});
