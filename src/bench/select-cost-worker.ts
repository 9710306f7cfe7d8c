// The wait-cost micro-benchmark through the addon, run as its own process by select-cost.ts: what
// one select(), poll() or epoll_wait() costs from TypeScript with 1 ready fd among K idle ones.
// Same method and flags as native/bench/selectcost.c (`--backend select|poll|epoll`): K idle
// listening sockets (one fd each, nobody connects), every one watched for reading, one wait per
// round with the same 1 s timeout (never reached), after 200 untimed rounds.
// - select: Selector.wait(): copies the master sets, select(), scans the answer (the ready fd is
//   the lowest, so the scan stops at once), as ae_select.c and the C program do;
// - poll: Poller.wait(): one poll() on the kept pollfd array, the ready fd first, so the scan for
//   the one non-zero revents stops at once;
// - epoll: Epoller.wait(): one epoll_wait() on an instance the K + 1 fds were added to once
//   (level-triggered): the kernel hands back the ready fd without looking at the idle ones.
// The ready fd is a listening socket with one connection pending and never accepted (the C
// program uses a socketpair holding one unread byte): readable on every call.
// Prints one JSON line: {"backend":B,"points":[{"idle":K,"us_per_call":X,"calls":C}, ...]}.
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { constants, EPOLL_CTL_ADD, FD_SETSIZE, native, READABLE } from '../binding/native.js';
import { COST_BACKENDS, type CostBackend } from './scenarios.js';

/** The C program's settings, so both curves are measured alike. */
const DEFAULT_ITERATIONS = 20_000;
const WARMUP_CALLS = 200;
const BUDGET_CHECK_EVERY = 256;
const TIMEOUT_MS = 1000;
/** Room for 64 (fd, mask) pairs, as the C program's epoll_wait() buffer of 64 events. */
const OUT_PAIRS = 64;
/** How long to wait for the loopback connection that makes the ready fd ready. */
const READY_LIMIT_MS = 2000;
/** poll() and epoll watch at most this many idle fds, as in the C program. */
const MAX_IDLE_POLL = 5000;

/** One wait on a prepared set of fds: returns how many are ready and fills out; close() frees it. */
interface Waiter {
  wait(out: Int32Array): number;
  close(): void;
}

/** A waiter of the backend watching ready first, then the idle fds, all for reading. */
function prepare(backend: CostBackend, ready: number, idle: readonly number[]): Waiter {
  const fds = [ready, ...idle];
  if (backend === 'select') {
    const selector = new native.Selector();
    for (const fd of fds) selector.add(fd, READABLE);
    return { wait: (out) => selector.wait(TIMEOUT_MS, out), close: () => {} };
  }
  if (backend === 'poll') {
    const poller = new native.Poller();
    for (const fd of fds) poller.set(fd, READABLE);
    return { wait: (out) => poller.wait(TIMEOUT_MS, out), close: () => {} };
  }
  const epoller = new native.Epoller();
  for (const fd of fds) epoller.ctl(EPOLL_CTL_ADD, fd, READABLE);
  return { wait: (out) => epoller.wait(TIMEOUT_MS, out), close: () => epoller.close() };
}

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
  const poller = new native.Poller();
  poller.set(ready, READABLE);
  const answer = new Int32Array(2);
  if (poller.wait(READY_LIMIT_MS, answer) !== 1) throw new Error('the loopback connection never arrived');
  poller.set(ready, 0);
  return { ready, client };
}

/** Opens up to count idle listeners; for select(), stops before an fd it could not watch. */
function idleListeners(count: number, backend: CostBackend): number[] {
  const fds: number[] = [];
  while (fds.length < count) {
    const fd = listener();
    if (backend === 'select' && fd >= FD_SETSIZE) {
      native.close(fd);
      break;
    }
    fds.push(fd);
  }
  return fds;
}

/** µs per wait with ready and k idle fds watched; stops at iterations or budgetS. */
function timePoint(backend: CostBackend, ready: number, idle: number[], k: number, iterations: number, budgetS: number) {
  const waiter = prepare(backend, ready, idle.slice(0, k));
  const out = new Int32Array(2 * OUT_PAIRS);
  const budgetMs = budgetS > 0 ? budgetS * 1000 : Infinity;
  let start = 0;
  let calls = 0;
  for (let round = -WARMUP_CALLS; round < iterations; round++) {
    if (round === 0) start = performance.now();
    if (round > 0 && round % BUDGET_CHECK_EVERY === 0 && performance.now() - start >= budgetMs) break;
    const n = waiter.wait(out);
    if (n === -constants.EINTR) continue;
    if (n !== 1 || out[0] !== ready) throw new Error(`an idle fd was ready (fd ${out[0]}, ${n} ready)`);
    if (round >= 0) calls++;
  }
  const us = ((performance.now() - start) * 1000) / calls;
  waiter.close();
  return { idle: k, us_per_call: Number(us.toFixed(3)), calls };
}

/** Rejects a bad command line as the C program does: a message on stderr and exit status 2. */
function badUsage(message: string): never {
  process.stderr.write(`select-cost-worker: ${message}\n`);
  process.exit(2);
}

/** Parses the flags, opens the fds, times each point, prints the JSON line. */
function main(): void {
  const { values } = parseArgs({
    options: { backend: { type: 'string' }, idle: { type: 'string' }, seconds: { type: 'string' }, iterations: { type: 'string' } },
  });
  const backend = (values.backend ?? 'select') as CostBackend;
  if (!COST_BACKENDS.includes(backend)) badUsage(`bad --backend: ${values.backend} (select, poll or epoll)`);
  const wanted = (values.idle ?? '0,10,100,500,1000').split(',').map(Number);
  if (wanted.some((k) => !Number.isInteger(k) || k < 0 || k > MAX_IDLE_POLL)) badUsage(`bad --idle: ${values.idle} (counts from 0 to ${MAX_IDLE_POLL})`);
  const iterations = Number(values.iterations ?? DEFAULT_ITERATIONS);
  const budgetS = Number(values.seconds ?? 0);
  const { ready, client } = readyListener();
  const idle = idleListeners(Math.max(...wanted), backend);
  // A select() point beyond the fds it can hold is measured at the most it can, and says so.
  const points = wanted.map((k) => timePoint(backend, ready, idle, Math.min(k, idle.length), iterations, budgetS));
  process.stdout.write(`${JSON.stringify({ backend, points, fd_setsize: FD_SETSIZE })}\n`);
  for (const fd of [...idle, client, ready]) native.close(fd);
}

main();
