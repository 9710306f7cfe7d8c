// LEARN.md cannot rot: every experiment's commands run here for real (the scripted form where a
// reader would type), and every line the guide marks with `<!-- expect ... -->` must appear both
// in the guide's pasted output and in what the real run printed.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, it, type ExpectStatic } from 'vitest';
import { openFdLimit } from '../helpers/fds.js';
import { PACKAGE_ROOT } from '../../src/package.js';
import { writeTimeline } from '../../src/cli/timeline.js';
import { parseTraceText } from '../../src/record/read-recording.js';
import { traceProblems } from '../record/trace-check.js';
import { killExperimentLeftovers, runPart, type Part, type Printed } from './experiment-runner.js';
import { readGuide, type Expectation, type Section } from './guide.js';

/** Where each experiment's recording and timeline page go (git-ignored; LEARN.md links them). */
const TIMELINES = new URL('../../learn-timelines/', import.meta.url);

/** Experiment 9 opens 1100 connections: the test process and its children need this many fds. */
const FDS_NEEDED = 1200;
/** Experiment 12 holds 3000 connections in one `selectchat send`. */
const FDS_NEEDED_BY_WORKERS = 3500;
/** Experiment 12's Redis, started in the background by the guide's command, in the scratch directory. */
const REDIS_PID_FILE = 'redis.pid';
/** The strace line the guide uses for experiment 11. */
const STRACE = 'strace -f -e trace=select,pselect6,epoll_wait,epoll_pwait';
/** Experiment 13's strace: a count of the waits (and epoll_ctl) of every engine, and Node's own. */
const STRACE_COUNT = 'strace -c -f -e trace=pselect6,poll,ppoll,epoll_wait,epoll_pwait,epoll_ctl';
/** Experiment 13's engines, in the guide's order. */
const ENGINES = ['select', 'poll', 'epoll'] as const;
/** Experiment 13's load: 500 idle connections beside 10 busy ones. */
const IDLE_LOAD = 'build/Release/selectchat-loadgen --port 7070 --workload idle --idle 500 --connections 10 --warmup 1 --duration 3';

/** True when bash finds command on PATH. */
function have(command: string): boolean {
  return spawnSync('bash', ['-c', `command -v ${command}`]).status === 0;
}

/** The first address `hostname -I` prints: one that is not loopback, if the machine has one. */
function otherAddress(): string {
  if (!have('hostname')) return '';
  return spawnSync('hostname', ['-I'], { encoding: 'utf8' }).stdout?.trim().split(/\s+/)[0] ?? '';
}

/** Does this machine have IPv6 loopback (::1)? */
function ipv6Loopback(): boolean {
  return existsSync('/proc/net/if_inet6') && readFileSync('/proc/net/if_inet6', 'utf8').includes('00000000000000000000000000000001');
}

/** Why strace cannot run here (not installed, or ptrace refused), or null when it can. */
function straceProblem(): string | null {
  if (!have('strace')) return 'strace is not installed';
  const probe = spawnSync('strace', ['-f', '-o', '/dev/null', 'true'], { encoding: 'utf8' });
  return probe.status === 0 ? null : `strace cannot trace here (ptrace not permitted?): ${probe.stderr.trim()}`;
}

/** Is `nc` OpenBSD netcat (the one with -N, shutdown after stdin ends)? */
function openbsdNetcat(): boolean {
  return have('nc') && /OpenBSD netcat/.test(spawnSync('nc', ['-h'], { encoding: 'utf8' }).stderr ?? '');
}

/** An experiment: why it cannot run here (or null), and its parts in order. */
interface Experiment {
  problem?: () => string | null;
  /** Runs after the others, not beside them. */
  alone?: boolean;
  parts: () => Part[];
  /** The section's last parts, when they need what the first do not (strace): a test of their
   *  own, skipped on its own, that checks the markers from its first quoted command on. */
  tail?: Tail;
}

interface Tail {
  /** The test's name after the section's title. */
  name: string;
  problem?: () => string | null;
  alone?: boolean;
  parts: () => Part[];
}

/** Every numbered section of LEARN.md, as a reader runs it. Each command string must appear in
 *  its section verbatim; Ctrl-Z, fg and Ctrl-C are signals. */
const EXPERIMENTS: Record<number, Experiment> = {
  1: {
    problem: () => {
      if (!have('ss')) return 'ss (iproute2) is not installed';
      if (otherAddress() === '') return 'no non-loopback address (hostname -I)';
      return ipv6Loopback() ? null : 'no IPv6 loopback (::1)';
    },
    parts: () => {
      const fromOutside = `./selectchat send --host "$(hostname -I | cut -d' ' -f1)" hello`;
      return [
        { serve: './selectchat serve --trace', steps: [{ run: "ss -ltnp 'sport = :7070'" }, { run: fromOutside }] },
        { serve: './selectchat serve --trace --host 0.0.0.0', steps: [{ run: "ss -ltnp 'sport = :7070'" }, { run: fromOutside }] },
        { serve: './selectchat serve --trace --host ::1', steps: [{ run: './selectchat send --host ::1 hello' }, { run: './selectchat send hello' }] },
      ];
    },
  },
  2: {
    problem: () => (have('ss') ? null : 'ss (iproute2) is not installed'),
    parts: () => [{
      serve: './selectchat serve --trace',
      steps: [
        { run: "printf 'hello\\n' | ./selectchat connect --nick ann" },
        { signal: 'SIGSTOP' },
        { run: './selectchat send hello' },
        { run: "ss -ltn 'sport = :7070'" },
        { run: "ss -tn '( sport = :7070 or dport = :7070 )'" },
        { signal: 'SIGCONT' },
        { waitFor: /EOF, the peer closed$/m },
      ],
    }],
  },
  3: {
    parts: () => [{
      serve: './selectchat serve --trace --mode echo',
      steps: [{ run: './selectchat send --no-newline --hold 1000 abc' }, { run: './selectchat send --no-newline --hold 1000 --reset abc' }],
    }],
  },
  4: {
    parts: () => [{ serve: './selectchat serve --trace --mode echo --idle-timeout 2', steps: [{ run: './selectchat send --hold 3000 hi' }] }],
  },
  5: {
    parts: () => {
      const flood = { run: './selectchat send --fill 60000 --repeat 200 --hold 1000' };
      return [
        { serve: './selectchat serve --trace --mode echo --max-queue 33554432', steps: [flood] },
        { serve: './selectchat serve --trace --mode echo', steps: [flood] },
      ];
    },
  },
  6: {
    parts: () => [{
      serve: './selectchat serve --trace --mode echo',
      steps: [
        { run: "./selectchat send --read 'one\\ntwo'" },
        // The same with netcat, where it is the OpenBSD one the guide shows.
        ...(openbsdNetcat() ? [{ run: "printf 'one\\ntwo\\n' | nc -N 127.0.0.1 7070" }] : []),
      ],
    }],
  },
  7: {
    parts: () => [{
      serve: './selectchat serve --trace --mode echo --max-line 150000',
      steps: [
        { run: './selectchat send --fill 3000 --chunk 1024 --delay 50 --read | wc -c' },
        { run: './selectchat send --fill 100000 --read | wc -c' },
        { run: './selectchat send --fill 200000 --read' },
      ],
    }],
  },
  8: {
    parts: () => [{
      serve: './selectchat serve --trace --mode echo',
      steps: [{ run: "./selectchat send --chunk 1 --delay 100 --read '€'" }, { run: "./selectchat send --read 'caf\\xC3'" }],
    }],
  },
  9: {
    problem: () => (openFdLimit() < FDS_NEEDED ? `the fd soft limit is ${openFdLimit()}; this experiment needs ${FDS_NEEDED} (ulimit -n)` : null),
    parts: () => [{
      serve: './selectchat serve --trace --mode echo --max-clients 2000 2> trace.log',
      steps: [
        { run: './selectchat send --connections 1100 --hold 1000 --read | sort | uniq -c' },
        { run: 'grep -m1 refused trace.log' },
        { run: "grep -o 'select(nfds=[0-9]*' trace.log | sort -t= -k2 -n | tail -1" },
      ],
    }],
  },
  10: {
    parts: () => [{
      serve: './selectchat serve --trace',
      steps: [
        { run: 'sleep 5 | ./selectchat connect --nick ann', background: true },
        { waitFor: /^fd \d+ readable: recv \d+ bytes → 1 line, 0 bytes kept$/m },
        { settle: true },
        { signal: 'SIGINT' },
        { exited: true },
      ],
    }],
  },
  11: {
    problem: straceProblem,
    parts: () => [
      {
        serve: `${STRACE} -o select.strace node dist/cli/main.js serve --mode echo`,
        steps: [
          { run: './selectchat send --read hello' },
          { settle: true },
          { signal: 'SIGINT' },
          { exited: true },
          { run: 'grep pselect6 select.strace' },
        ],
      },
      {
        serve: `${STRACE} -o libuv.strace node dist/cli/main.js serve --mode echo --engine libuv`,
        steps: [
          { run: './selectchat send --read hello' },
          { settle: true },
          { signal: 'SIGINT' },
          { exited: true },
          { run: "grep epoll_pwait libuv.strace | grep -v ' 0, NULL'" },
        ],
      },
      { serve: null, steps: [{ run: 'build/Release/selectchat-selectcost --idle 0,10,100,500,1000' }] },
    ],
  },
  12: {
    alone: true,
    problem: () => {
      for (const command of ['redis-server', 'redis-cli', 'ss']) if (!have(command)) return `${command} is not installed`;
      const limit = openFdLimit();
      return limit < FDS_NEEDED_BY_WORKERS ? `the fd soft limit is ${limit}; this experiment needs ${FDS_NEEDED_BY_WORKERS} (ulimit -n)` : null;
    },
    parts: () => [
      { serve: null, steps: [{ run: "redis-server --port 0 --unixsocket redis.sock --save '' --appendonly no --daemonize yes --pidfile redis.pid" }] },
      {
        serve: './selectchat serve --workers 4 --redis unix://$PWD/redis.sock',
        steps: [
          { run: './selectchat send --connections 3000 --hold 8000', background: true },
          { run: `until [ "$(ss -Htnp state established '( sport = :7070 )' | grep -c pid=)" -ge 3000 ]; do sleep 0.2; done` },
          { run: "ss -Htnp state established '( sport = :7070 )' | grep -o 'pid=[0-9]*' | sort | uniq -c" },
          { run: "printf '/who\\n' | ./selectchat connect | grep '^\\* welcome'" },
        ],
      },
      { serve: null, steps: [{ run: 'redis-cli -s redis.sock shutdown nosave' }] },
    ],
  },
  13: {
    parts: () => [
      ...ENGINES.map((engine): Part => ({
        serve: `./selectchat serve --trace --mode echo --engine ${engine}`,
        steps: [{ run: './selectchat send --read hello' }],
      })),
      {
        serve: './selectchat serve --trace --mode echo --engine epoll --max-queue 33554432 2> trace.log',
        steps: [{ run: './selectchat send --fill 60000 --repeat 200 --hold 1000' }, { settle: true }, { run: 'grep epoll_ctl trace.log' }],
      },
    ],
    tail: {
      name: 'strace -c under load',
      problem: straceProblem,
      // Both cores busy for seconds under strace: beside the others it would starve their
      // timing-sensitive steps.
      alone: true,
      parts: () => ENGINES.map((engine): Part => ({
        serve: `${STRACE_COUNT} -o ${engine}.count node dist/cli/main.js serve --mode echo --engine ${engine}`,
        steps: [
          { run: IDLE_LOAD },
          { settle: true },
          { signal: 'SIGINT' },
          { exited: true },
          { run: `cat ${engine}.count` },
        ],
      })),
    },
  },
};

/** Stops a Redis an experiment left running in its scratch directory (it failed half-way). */
function stopLeftoverRedis(cwd: string): void {
  const pidFile = join(cwd, REDIS_PID_FILE);
  if (!existsSync(pidFile)) return;
  try {
    process.kill(Number(readFileSync(pidFile, 'utf8').trim()), 'SIGKILL');
  } catch {
    // Already gone.
  }
}

const guide = readGuide();

describe('LEARN.md', () => {
  it('has exactly the experiments this test runs, each marking at least one expected line', ({ expect }) => {
    expect([...guide.keys()].sort((a, b) => a - b)).toEqual(Object.keys(EXPERIMENTS).map(Number));
    for (const section of guide.values()) {
      expect(section.expectations.length, `section ${section.number} marks no expected line`).toBeGreaterThan(0);
    }
  });

  it('quotes, in each experiment, every command this test runs and a line matching every marker', ({ expect }) => {
    for (const [number, experiment] of Object.entries(EXPERIMENTS)) {
      const section = guide.get(Number(number))!;
      for (const part of [...experiment.parts(), ...(experiment.tail?.parts() ?? [])]) {
        for (const command of [part.serve, ...part.steps.map((step) => ('run' in step ? step.run : null))]) {
          if (command !== null) expect(section.text, `section ${number} does not quote: ${command}`).toContain(command);
        }
      }
      for (const { pattern } of section.expectations) {
        expect(section.text, `section ${number}: no pasted line matches ${pattern}`).toMatch(pattern);
      }
    }
  });
});

/** One test's share of an experiment: its parts, the first of them the how-manieth of the
 *  section's (for the timelines' names), and the marked lines it checks. */
interface Run {
  /** The test's name. */
  name: string;
  problem: (() => string | null) | undefined;
  alone: boolean;
  parts: Part[];
  /** Index of parts[0] among all the section's parts, and how many it has. */
  first: number;
  total: number;
  expectations: Expectation[];
}

/** An experiment as tests: one, or two when it has a tail (which checks the markers from its
 *  first quoted command on; the first test, those before it). */
function runsOf(number: number, section: Section, experiment: Experiment): Run[] {
  const parts = experiment.parts();
  const title = `${number}. ${section.title}`;
  const whole = { problem: experiment.problem, alone: experiment.alone ?? false, parts, first: 0 };
  if (experiment.tail === undefined) return [{ ...whole, name: title, total: parts.length, expectations: section.expectations }];
  const tail = experiment.tail.parts();
  const opening = tail[0]!.serve ?? (tail[0]!.steps[0] as { run: string }).run;
  const cut = section.text.indexOf(opening);
  if (cut < 0) throw new Error(`section ${number} does not quote: ${opening}`);
  const total = parts.length + tail.length;
  return [
    { ...whole, name: title, total, expectations: section.expectations.filter(({ offset }) => offset < cut) },
    {
      name: `${title}: ${experiment.tail.name}`,
      problem: experiment.tail.problem,
      alone: experiment.tail.alone ?? false,
      parts: tail,
      first: parts.length,
      total,
      expectations: section.expectations.filter(({ offset }) => offset >= cut),
    },
  ];
}

/** Runs one experiment (or its tail) for real and checks every line it marks. */
async function runExperiment(number: number, run: Run, expect: ExpectStatic, skip: (condition: boolean, note: string) => void): Promise<void> {
  const problem = run.problem?.() ?? null;
  skip(problem !== null, problem ?? '');
  const cwd = mkdtempSync(join(tmpdir(), `selectchat-learn-${number}-`));
  try {
    const printed: Printed = { trace: '', output: '' };
    mkdirSync(TIMELINES, { recursive: true });
    for (const [i, part] of run.parts.entries()) {
      const name = `experiment-${number}${run.total > 1 ? `-${run.first + i + 1}` : ''}`;
      const record = part.serve === null || part.serve.includes('--workers') ? null : new URL(`${name}.json`, TIMELINES).pathname;
      const { trace, output } = await runPart(part, cwd, record);
      printed.trace += trace;
      printed.output += output;
      if (record !== null) {
        // The server's recording is a valid trace, and becomes the experiment's timeline page.
        expect(traceProblems(parseTraceText(readFileSync(record, 'utf8'))), `${name}.json`).toEqual([]);
        writeTimeline(record, record.replace(/\.json$/, '.html'));
      }
    }
    for (const { stream, pattern } of run.expectations) {
      expect(printed[stream], `${stream} of experiment ${number} has no line matching ${pattern}`).toMatch(pattern);
    }
  } finally {
    stopLeftoverRedis(cwd);
    rmSync(cwd, { recursive: true, force: true });
  }
}

/** Every run of every experiment the guide has, with its experiment's number. */
const RUNS = [...guide].flatMap(([number, section]) => {
  const experiment = EXPERIMENTS[number];
  return experiment === undefined ? [] : runsOf(number, section, experiment).map((run) => ({ number, run }));
});

describe.concurrent('LEARN.md experiments, run for real', () => {
  afterAll(killExperimentLeftovers);

  for (const { number, run } of RUNS) {
    if (run.alone) continue;
    it(run.name, ({ expect, skip }) => runExperiment(number, run, expect, skip));
  }
});

// Thousands of connections, or strace under load: beside the others they would starve their
// timing-sensitive steps.
describe('LEARN.md experiments that need the machine to themselves, run for real', () => {
  afterAll(killExperimentLeftovers);

  for (const { number, run } of RUNS) {
    if (!run.alone) continue;
    it(run.name, ({ expect, skip }) => runExperiment(number, run, expect, skip));
  }
});

// The guide's commands use the package bin; make sure it is what the reader gets.
describe('the guide\'s entry point', () => {
  // (Not `npx selectchat`: in a fresh clone npx installs the package, and its install script
  // rebuilds build/ under the feet of every test running beside this one.)
  it('`./selectchat --help` lists send', ({ expect }) => {
    const help = execFileSync('./selectchat', ['--help'], { cwd: PACKAGE_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    expect(help).toMatch(/^ {2}send {7}/m);
  });
});
