// The loop's policy without sockets: a fake Backend records every call and answers wait() from a
// script, so each test sees how long the loop would have blocked, what it dispatched, and what
// reached the multiplexer. The loop lives inside Node (it yields with setImmediate), so the tests
// are async; the fake never blocks and stops the loop when its script runs out.
import { constants } from 'node:os';
import { beforeAll, describe, expect, it } from 'vitest';
import { ERROR, EXCEPTION, HANGUP, INVALID, READABLE, WRITABLE, native } from '../../src/binding/native.js';
import type { Backend } from '../../src/loop/backend.js';
import { EventLoop } from '../../src/loop/event-loop.js';
import type { WaitCall, WaitResult } from '../../src/trace/events.js';

/** The fake's limit, like select()'s FD_SETSIZE. */
const FAKE_SETSIZE = 2048;
/** Our fds are numbers no real fd of this process has (Node's own epoll fd is far below). */
const FD_A = 1001;
const FD_B = 1002;
const FD_C = 1003;
/** The loop's cap on a wait after a busy round or while Node has a timer (event-loop.ts). */
const NODE_TIMER_POLL_MS = 10;
/** Under load the loop yields to Node at least this often (event-loop.ts). */
const NODE_YIELD_INTERVAL_MS = 10;
/** More waits than any script here: a loop that never stops fails instead of hanging. */
const MAX_WAITS = 1000;
/** How long to wait for timers other code left in this process (vitest's own) to fire. */
const QUIET_DEADLINE_MS = 5000;
const NODE_FD = native.uvBackendFd();
const BOTH = READABLE | WRITABLE;

/** What one wait() returns: ready (fd, events) pairs, or an interrupted wait. */
type Answer = readonly (readonly [fd: number, events: number])[] | 'EINTR';
/** A scripted wait(): its answer, or a function run inside the wait (where the loop blocks). */
type Step = Answer | (() => Answer);
/** A wait that timed out. */
const TIMED_OUT: Answer = [];

class FakeBackend implements Backend {
  readonly name = 'epoll' as const;
  /** Every change to the interest list, in order: `add FD I`, `modify FD FROM TO`, `remove FD FROM`. */
  readonly calls: string[] = [];
  /** The timeout handed to every wait(), in order. */
  readonly waits: number[] = [];
  closed = false;
  /** Runs when the script is used up; the wait then times out. */
  onScriptEnd: () => void = () => {};
  private readonly steps: Step[] = [];

  script(steps: Step[]): void {
    this.steps.push(...steps);
  }

  canWatch(fd: number): boolean {
    return fd >= 0 && fd < FAKE_SETSIZE;
  }

  add(fd: number, interest: number): void {
    this.calls.push(`add ${fd} ${interest}`);
  }

  modify(fd: number, from: number, to: number): void {
    this.calls.push(`modify ${fd} ${from} ${to}`);
  }

  remove(fd: number, from: number): void {
    this.calls.push(`remove ${fd} ${from}`);
  }

  wait(timeoutMs: number, out: Int32Array): number {
    this.waits.push(timeoutMs);
    if (this.waits.length > MAX_WAITS) throw new Error(`the loop did not stop after ${MAX_WAITS} waits`);
    const step = this.steps.shift();
    if (step === undefined) {
      this.onScriptEnd();
      return 0;
    }
    const answer = typeof step === 'function' ? step() : step;
    if (answer === 'EINTR') return -constants.errno.EINTR;
    answer.forEach(([fd, events], i) => {
      out[2 * i] = fd;
      out[2 * i + 1] = events;
    });
    return answer.length;
  }

  close(): void {
    this.closed = true;
  }

  describeCall(timeoutMs: number, maxEvents: number): WaitCall {
    return { backend: 'epoll', epfd: -1, maxEvents, timeoutMs };
  }

  describeResult(count: number, out: Int32Array): WaitResult {
    return { backend: 'epoll', ready: Array.from({ length: count }, (_, i) => [out[2 * i]!, out[2 * i + 1]!] as [number, number]) };
  }
}

/** A loop on a fake backend, once no one else's timer is pending in this process. */
async function newLoop(): Promise<{ loop: EventLoop; fake: FakeBackend }> {
  await untilNodeIsQuiet();
  const fake = new FakeBackend();
  return { loop: new EventLoop(fake), fake };
}

/** Runs the loop through steps, then one more wait in which the fake stops it. Returns the
 *  timeout of every wait: one per step, and the last. */
async function runScript(loop: EventLoop, fake: FakeBackend, steps: Step[]): Promise<number[]> {
  fake.script(steps);
  fake.onScriptEnd = () => loop.stop();
  await loop.run();
  return fake.waits;
}

/** Tells whether Node has had a turn of its loop since it was made (a yield happened). */
function nodeTurn(): { readonly happened: boolean } {
  const turn = { happened: false };
  setImmediate(() => (turn.happened = true));
  return turn;
}

/** Waits until no timer or immediate of anyone else is pending (vitest throttles its reports
 *  with a short timer), so that what the loop sees is what the test sets up. */
async function untilNodeIsQuiet(): Promise<void> {
  const deadline = performance.now() + QUIET_DEADLINE_MS;
  for (;;) {
    const pending = process.getActiveResourcesInfo().filter((r) => r === 'Timeout' || r === 'Immediate');
    if (pending.length === 0) return;
    if (performance.now() > deadline) throw new Error(`Node still has ${pending.join(', ')} pending`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

beforeAll(() => {
  expect(NODE_FD).toBeLessThan(FD_A);
});

describe('EventLoop: how long the wait may block', () => {
  it('as long as it takes (-1) when nothing is due and Node has nothing pending', async () => {
    const { loop, fake } = await newLoop();
    expect(await runScript(loop, fake, [TIMED_OUT, TIMED_OUT])).toEqual([-1, -1, -1]);
  });

  it('until the nearest loop timer', async () => {
    const { loop, fake } = await newLoop();
    loop.setTimeout(5000, () => {});
    loop.setTimeout(1000, () => {});
    loop.setInterval(3000, () => {});
    const [first] = await runScript(loop, fake, []);
    // Two yields to Node come before the first wait: allow for a slow machine.
    expect(first).toBeGreaterThan(500);
    expect(first).toBeLessThanOrEqual(1000);
  });

  it('not at all while a timer is due, and as long as it takes once it has fired', async () => {
    const { loop, fake } = await newLoop();
    let fired = 0;
    loop.setTimeout(0, () => fired++);
    expect(await runScript(loop, fake, [TIMED_OUT])).toEqual([0, -1]);
    expect(fired).toBe(1);
  });

  it('not at all after requestRound() from a round hook, then as before', async () => {
    const { loop, fake } = await newLoop();
    let round = 0;
    // A second hook requests: the flag is cleared before the hooks run, not after.
    loop.onRoundEnd(() => {});
    loop.onRoundEnd(() => {
      if (++round === 1) loop.requestRound();
    });
    expect(await runScript(loop, fake, [TIMED_OUT, TIMED_OUT])).toEqual([-1, 0, -1]);
  });

  it('not at all after requestRound() from Node (a callback run while the loop yields)', async () => {
    const { loop, fake } = await newLoop();
    const steps: Step[] = [
      () => {
        setImmediate(() => loop.requestRound());
        return TIMED_OUT;
      },
      TIMED_OUT,
    ];
    expect(await runScript(loop, fake, steps)).toEqual([-1, 0, -1]);
  });

  it('normally after requestRound() from an I/O callback: this round\'s hooks already did the work', async () => {
    const { loop, fake } = await newLoop();
    loop.watch(FD_A, () => loop.requestRound());
    // The round was busy, so the next wait is capped, not zero.
    expect(await runScript(loop, fake, [[[FD_A, READABLE]], TIMED_OUT])).toEqual([-1, NODE_TIMER_POLL_MS, -1]);
  });

  it(`at most ${NODE_TIMER_POLL_MS} ms after a busy round, then as before`, async () => {
    const { loop, fake } = await newLoop();
    let calls = 0;
    loop.watch(FD_A, () => calls++);
    const waits = await runScript(loop, fake, [[[FD_A, READABLE]], TIMED_OUT, [[FD_A, READABLE]], [[FD_A, READABLE]]]);
    expect(waits).toEqual([-1, NODE_TIMER_POLL_MS, -1, NODE_TIMER_POLL_MS, NODE_TIMER_POLL_MS]);
    expect(calls).toBe(3);
  });

  it('after a busy round, no longer than the nearest loop timer either', async () => {
    const { loop, fake } = await newLoop();
    loop.watch(FD_A, () => {});
    loop.setTimeout(3, () => {});
    const [, afterBusy] = await runScript(loop, fake, [[[FD_A, READABLE]]]);
    expect(afterBusy).toBeLessThanOrEqual(3);
  });

  it('as long as it takes after a round in which no callback ran (ready, but not for what we watch; or only Node\'s fd)', async () => {
    const { loop, fake } = await newLoop();
    let calls = 0;
    loop.watch(FD_A, () => calls++);
    expect(await runScript(loop, fake, [[[FD_A, WRITABLE]], [[NODE_FD, READABLE]]])).toEqual([-1, -1, -1]);
    expect(calls).toBe(0);
  });

  it(`at most ${NODE_TIMER_POLL_MS} ms while Node has a timer of its own (setTimeout), then as before`, async () => {
    const { loop, fake } = await newLoop();
    const nodeTimer = setTimeout(() => {}, 60_000);
    try {
      const steps: Step[] = [
        TIMED_OUT,
        () => {
          clearTimeout(nodeTimer);
          return TIMED_OUT;
        },
      ];
      expect(await runScript(loop, fake, steps)).toEqual([NODE_TIMER_POLL_MS, NODE_TIMER_POLL_MS, -1]);
    } finally {
      clearTimeout(nodeTimer);
    }
  });

  it('while Node has a timer, no longer than a nearer loop timer', async () => {
    const { loop, fake } = await newLoop();
    const nodeTimer = setTimeout(() => {}, 60_000);
    try {
      loop.setTimeout(3, () => {});
      const [first] = await runScript(loop, fake, []);
      expect(first).toBeLessThanOrEqual(3);
    } finally {
      clearTimeout(nodeTimer);
    }
  });

  it('not at all while Node has an immediate queued, then as before', async () => {
    const { loop, fake } = await newLoop();
    // An immediate that queues itself again: one is always pending when the loop decides.
    let spinning = true;
    const spin = (): void => {
      if (spinning) setImmediate(spin);
    };
    spin();
    const steps: Step[] = [
      TIMED_OUT,
      () => {
        spinning = false;
        return TIMED_OUT;
      },
      TIMED_OUT,
    ];
    expect(await runScript(loop, fake, steps)).toEqual([0, 0, -1, -1]);
  });
});

describe('EventLoop: dispatch', () => {
  it('re-checks interest: a callback that unwatches, or changes the interest of, another ready fd keeps that fd\'s callback from running', async () => {
    const { loop, fake } = await newLoop();
    const ran: string[] = [];
    loop.watch(FD_A, () => {
      ran.push('a');
      loop.unwatch(FD_B);
      loop.setInterest(FD_C, WRITABLE);
    });
    loop.watch(FD_B, () => ran.push('b'));
    loop.watch(FD_C, () => ran.push('c'));
    await runScript(loop, fake, [[[FD_A, READABLE], [FD_B, READABLE], [FD_C, READABLE]]]);
    expect(ran).toEqual(['a']);
  });

  it('calls each ready fd\'s callback with the events it watches, in the order the backend reported them', async () => {
    const { loop, fake } = await newLoop();
    const got: [string, number][] = [];
    loop.watch(FD_A, (events) => got.push(['a', events]), BOTH);
    loop.watch(FD_B, (events) => got.push(['b', events]), READABLE);
    await runScript(loop, fake, [[[FD_B, BOTH], [FD_A, WRITABLE]], [[FD_A, BOTH | EXCEPTION]]]);
    // b does not watch WRITABLE; EXCEPTION (out-of-band data) always reaches the watcher.
    expect(got).toEqual([['b', READABLE], ['a', WRITABLE], ['a', BOTH | EXCEPTION]]);
  });

  it('hands a hang-up, an error or an invalid fd to a watcher as the READABLE/WRITABLE it watches', async () => {
    const { loop, fake } = await newLoop();
    const cases: [interest: number, result: number][] = [
      [READABLE, HANGUP],
      [WRITABLE, HANGUP],
      [READABLE, ERROR],
      [WRITABLE, ERROR | HANGUP],
      [BOTH, ERROR],
      [WRITABLE, INVALID],
      [READABLE, HANGUP | READABLE],
    ];
    const got: number[] = [];
    loop.watch(FD_A, (events) => got.push(events), cases[0]![0]);
    const steps: Step[] = cases.map(([interest, result]) => () => {
      loop.setInterest(FD_A, interest);
      return [[FD_A, result]];
    });
    await runScript(loop, fake, steps);
    expect(got).toEqual(cases.map(([interest]) => interest));
  });

  it('does not call a watcher that watches nothing for now, whatever happened to its fd', async () => {
    const { loop, fake } = await newLoop();
    let calls = 0;
    loop.watch(FD_A, () => calls++, 0);
    await runScript(loop, fake, [[[FD_A, HANGUP | ERROR]], [[FD_A, READABLE]]]);
    expect(calls).toBe(0);
  });

  it('yields to Node when its fd is ready, even in a round with nothing else to do', async () => {
    const { loop, fake } = await newLoop();
    let turn: { readonly happened: boolean } | undefined;
    let yielded: boolean | undefined;
    const steps: Step[] = [
      () => {
        turn = nodeTurn();
        return [[NODE_FD, READABLE]];
      },
      () => {
        yielded = turn!.happened;
        return TIMED_OUT;
      },
    ];
    await runScript(loop, fake, steps);
    expect(yielded).toBe(true);
  });

  it('yields to Node after a busy round when asked (requestYield), and not otherwise', async () => {
    const { loop, fake } = await newLoop();
    let ask = false;
    let turn: { readonly happened: boolean } | undefined;
    /** When the previous busy round's last wait returned: no yield since is older than that. */
    let lastRoundEnded = performance.now();
    const seen: { yielded: boolean; ms: number }[] = [];
    loop.watch(FD_A, () => {
      if (ask) loop.requestYield();
    });
    const busyRound = (asking: boolean): Step[] => [
      () => {
        ask = asking;
        turn = nodeTurn();
        return [[FD_A, READABLE]];
      },
      () => {
        seen.push({ yielded: turn!.happened, ms: performance.now() - lastRoundEnded });
        lastRoundEnded = performance.now();
        return [[FD_A, READABLE]];
      },
    ];
    await runScript(loop, fake, [...busyRound(true), ...busyRound(false)]);
    expect(seen[0]!.yielded).toBe(true);
    // Unasked, a busy round yields only once NODE_YIELD_INTERVAL_MS have passed since the last
    // yield; a machine slow enough to take that long proves nothing here.
    if (seen[1]!.ms < NODE_YIELD_INTERVAL_MS) expect(seen[1]!.yielded).toBe(false);
  });
});

describe('EventLoop: an interrupted wait (EINTR)', () => {
  it('yields to Node (where the signal handler runs) and goes on, without dispatching or running the hooks', async () => {
    const { loop, fake } = await newLoop();
    let hooks = 0;
    let calls = 0;
    let turn: { readonly happened: boolean } | undefined;
    let yielded: boolean | undefined;
    loop.onRoundEnd(() => hooks++);
    loop.watch(FD_A, () => calls++);
    const steps: Step[] = [
      () => {
        turn = nodeTurn();
        return 'EINTR';
      },
      () => {
        yielded = turn!.happened;
        return [[FD_A, READABLE]];
      },
    ];
    expect(await runScript(loop, fake, steps)).toEqual([-1, -1, NODE_TIMER_POLL_MS]);
    expect(yielded).toBe(true);
    expect(calls).toBe(1);
    // The round after the EINTR and the last one.
    expect(hooks).toBe(2);
  });

  it('forgets that the round before was busy', async () => {
    const { loop, fake } = await newLoop();
    loop.watch(FD_A, () => {});
    expect(await runScript(loop, fake, [[[FD_A, READABLE]], 'EINTR'])).toEqual([-1, NODE_TIMER_POLL_MS, -1]);
  });
});

describe('EventLoop: what reaches the backend', () => {
  it('watch, setInterest and unwatch become add, modify and remove with the old and the new interest', async () => {
    const { loop, fake } = await newLoop();
    loop.watch(FD_A, () => {});
    loop.watch(FD_B, () => {}, BOTH);
    loop.setInterest(FD_A, WRITABLE);
    loop.setInterest(FD_A, WRITABLE); // no change: nothing to tell the kernel
    loop.setInterest(FD_A, 0);
    expect(loop.interest(FD_A)).toBe(0);
    expect(loop.interest(FD_B)).toBe(BOTH);
    loop.unwatch(FD_A);
    loop.unwatch(FD_A); // already gone
    loop.unwatch(FD_B);
    expect(fake.calls).toEqual([
      `add ${FD_A} ${READABLE}`,
      `add ${FD_B} ${BOTH}`,
      `modify ${FD_A} ${READABLE} ${WRITABLE}`,
      `modify ${FD_A} ${WRITABLE} 0`,
      `remove ${FD_A} 0`,
      `remove ${FD_B} ${BOTH}`,
    ]);
  });

  it('refuses to watch an fd twice, or to change an fd it does not watch, without a word to the backend', async () => {
    const { loop, fake } = await newLoop();
    loop.watch(FD_A, () => {});
    expect(() => loop.watch(FD_A, () => {})).toThrow(/already watched/);
    expect(() => loop.setInterest(FD_B, WRITABLE)).toThrow(/not watched/);
    expect(fake.calls).toEqual([`add ${FD_A} ${READABLE}`]);
  });

  it('throws ERR_FD_SETSIZE for an fd the backend cannot watch, and never hands it over', async () => {
    const { loop, fake } = await newLoop();
    expect(loop.canWatch(FAKE_SETSIZE - 1)).toBe(true);
    expect(loop.canWatch(FAKE_SETSIZE)).toBe(false);
    let thrown: unknown;
    try {
      loop.watch(FAKE_SETSIZE, () => {});
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(RangeError);
    expect(thrown).toMatchObject({ code: 'ERR_FD_SETSIZE' });
    loop.watch(FAKE_SETSIZE - 1, () => {});
    expect(fake.calls).toEqual([`add ${FAKE_SETSIZE - 1} ${READABLE}`]);
  });

  it('watches Node\'s own fd for reading while it runs, and takes it out at the end', async () => {
    const { loop, fake } = await newLoop();
    let interestWhileRunning: number | undefined;
    await runScript(loop, fake, [
      () => {
        interestWhileRunning = loop.interest(NODE_FD);
        return TIMED_OUT;
      },
    ]);
    expect(interestWhileRunning).toBe(READABLE);
    expect(fake.calls).toEqual([`add ${NODE_FD} ${READABLE}`, `remove ${NODE_FD} ${READABLE}`]);
  });
});

describe('EventLoop: stop()', () => {
  it('from a round hook ends run() after that round and closes the backend', async () => {
    const { loop, fake } = await newLoop();
    let rounds = 0;
    loop.onRoundEnd(() => {
      if (++rounds === 2) loop.stop();
    });
    fake.script([TIMED_OUT, TIMED_OUT, TIMED_OUT]);
    expect(fake.closed).toBe(false);
    await loop.run();
    expect(fake.waits).toHaveLength(2);
    expect(rounds).toBe(2);
    expect(fake.closed).toBe(true);
    expect(fake.calls.at(-1)).toBe(`remove ${NODE_FD} ${READABLE}`);
  });

  it('from Node, while the loop yields, ends run() before the next wait', async () => {
    const { loop, fake } = await newLoop();
    fake.script([
      () => {
        setImmediate(() => loop.stop());
        return TIMED_OUT;
      },
      TIMED_OUT,
    ]);
    await loop.run();
    expect(fake.waits).toHaveLength(1);
    expect(fake.closed).toBe(true);
  });

  it('an exception from a callback ends run() with it, and the backend is still closed', async () => {
    const { loop, fake } = await newLoop();
    loop.watch(FD_A, () => {
      throw new Error('boom');
    });
    fake.script([[[FD_A, READABLE]], TIMED_OUT]);
    await expect(loop.run()).rejects.toThrow('boom');
    expect(fake.waits).toHaveLength(1);
    expect(fake.closed).toBe(true);
  });
});
