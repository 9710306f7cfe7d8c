// The select() cost micro-benchmark through the addon, run as its own process by select-cost.ts.
// Same method as native/bench/selectcost.c: one ready fd, K idle listening sockets (one fd each,
// nobody connects), one Selector.wait() per round with the same 1 s timeout (never reached).
// The ready fd is a listening socket with one connection pending and never accepted: readable
// on every call, and the lowest fd, so the scan of the answer stops at once.
// Prints one JSON line: {"points":[{"idle":K,"us_per_call":X,"calls":C}, ...]}.
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { constants, FD_SETSIZE, native, READABLE } from '../binding/native.js';

/** The C program's settings, so both curves are measured alike. */
const DEFAULT_ITERATIONS = 20_000;
const WARMUP_CALLS = 200;
const BUDGET_CHECK_EVERY = 256;
const TIMEOUT_MS = 1000;
/** How long to wait for the loopback connection that makes the ready fd ready. */
const READY_LIMIT_MS = 2000;

/** A listening socket on 127.0.0.1, port chosen by the kernel. */
function listener(): number {
  const fd = native.socket(constants.AF_INET, constants.SOCK_STREAM);
  native.bind(fd, '127.0.0.1', 0);
  native.listen(fd, 1);
  return fd;
}

/** A listener with one pending connection: the always-ready fd (and the client, kept open). */
function readyListener(): { ready: number; client: number } {
  const ready = listener();
  const client = native.socket(constants.AF_INET, constants.SOCK_STREAM);
  native.connect(client, '127.0.0.1', native.getsockname(ready).port);
  const selector = new native.Selector();
  selector.add(ready, READABLE);
  const answer = new Int32Array(2);
  if (selector.wait(READY_LIMIT_MS, answer) !== 1) throw new Error('the loopback connection never arrived');
  return { ready, client };
}

/** Opens up to count idle listeners, stopping before an fd that select() could not watch. */
function idleListeners(count: number): number[] {
  const fds: number[] = [];
  while (fds.length < count) {
    const fd = listener();
    if (fd >= FD_SETSIZE) {
      native.close(fd);
      break;
    }
    fds.push(fd);
  }
  return fds;
}

/** µs per Selector.wait() with ready and k idle fds watched; stops at iterations or budgetS. */
function timePoint(ready: number, idle: number[], k: number, iterations: number, budgetS: number) {
  const selector = new native.Selector();
  selector.add(ready, READABLE);
  for (let i = 0; i < k; i++) selector.add(idle[i] as number, READABLE);
  const out = new Int32Array(2);
  const budgetMs = budgetS > 0 ? budgetS * 1000 : Infinity;
  let start = 0;
  let calls = 0;
  for (let round = -WARMUP_CALLS; round < iterations; round++) {
    if (round === 0) start = performance.now();
    if (round > 0 && round % BUDGET_CHECK_EVERY === 0 && performance.now() - start >= budgetMs) break;
    const n = selector.wait(TIMEOUT_MS, out);
    if (n === -constants.EINTR) continue;
    if (n !== 1 || out[0] !== ready) throw new Error(`an idle fd was ready (fd ${out[0]})`);
    if (round >= 0) calls++;
  }
  return { idle: k, us_per_call: Number((((performance.now() - start) * 1000) / calls).toFixed(3)), calls };
}

/** Parses the flags, opens the fds, times each point, prints the JSON line. */
function main(): void {
  const { values } = parseArgs({
    options: { idle: { type: 'string' }, seconds: { type: 'string' }, iterations: { type: 'string' } },
  });
  const wanted = (values.idle ?? '0,10,100,500,1000').split(',').map(Number);
  const iterations = Number(values.iterations ?? DEFAULT_ITERATIONS);
  const budgetS = Number(values.seconds ?? 0);
  const { ready, client } = readyListener();
  const idle = idleListeners(Math.max(...wanted));
  // A point beyond the fds select() can hold is measured at the most it can, and says so.
  const points = wanted.map((k) => timePoint(ready, idle, Math.min(k, idle.length), iterations, budgetS));
  process.stdout.write(`${JSON.stringify({ points, fd_setsize: FD_SETSIZE })}\n`);
  for (const fd of [...idle, client, ready]) native.close(fd);
}

main();
