// The C cost micro-benchmark (build/Release/selectchat-selectcost): one JSON line of points for
// each backend, poll() and epoll past FD_SETSIZE where select() stops, usage errors.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { SelectCostPoint } from '../../src/bench/select-cost.js';
import { FDS_NEEDED_ABOVE_SETSIZE, openFdLimit } from '../helpers/fds.js';

const SELECTCOST = fileURLToPath(
  new URL('../../build/Release/selectchat-selectcost', import.meta.url),
);
const run = promisify(execFile);
/** Calls per point: the test checks the output, not the speed. */
const ITERATIONS = 300;
/** Enough idle fds that the last are numbered past FD_SETSIZE (after stdio and the socketpair). */
const IDLE_ABOVE_SETSIZE = 1050;

/** Runs the program and parses its one JSON line. */
async function points(args: string[]): Promise<SelectCostPoint[]> {
  const { stdout } = await run(SELECTCOST, args);
  return (JSON.parse(stdout) as { points: SelectCostPoint[] }).points;
}

describe('selectchat-selectcost', () => {
  for (const backend of ['select', 'poll', 'epoll']) {
    it(`--backend ${backend} prints one point per idle count with calls and µs per call`, async () => {
      const args = ['--backend', backend, '--idle', '0,10', '--iterations', String(ITERATIONS)];
      const measured = await points(args);
      expect(measured.map((p) => [p.idle, p.calls])).toEqual([
        [0, ITERATIONS],
        [10, ITERATIONS],
      ]);
      for (const p of measured) expect(p.us_per_call).toBeGreaterThan(0);
    });
  }

  it('poll and epoll watch idle fds past FD_SETSIZE; select refuses that many', async (context) => {
    const limit = openFdLimit();
    if (limit < FDS_NEEDED_ABOVE_SETSIZE) {
      context.skip(`the open-fd limit (ulimit -n) is ${limit}, below ${FDS_NEEDED_ABOVE_SETSIZE}`);
    }
    const idle = String(IDLE_ABOVE_SETSIZE);
    for (const backend of ['poll', 'epoll']) {
      const measured = await points(['--backend', backend, '--idle', idle, '--iterations', '10']);
      expect(measured.map((p) => [p.idle, p.calls])).toEqual([[IDLE_ABOVE_SETSIZE, 10]]);
    }
    await expect(run(SELECTCOST, ['--backend', 'select', '--idle', idle])).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining(`bad --idle: ${idle}`),
    });
  });

  it('an unknown backend is a usage error (exit 2) that names the valid ones', async () => {
    await expect(run(SELECTCOST, ['--backend', 'kqueue'])).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('bad --backend: kqueue (select, poll or epoll)'),
    });
  });
});
