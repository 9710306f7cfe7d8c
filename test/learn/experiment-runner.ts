// Runs one of LEARN.md's experiments for real, as a reader would in two terminals: the quoted
// server command (on a free port instead of 7070) and then the quoted commands, each in bash, in
// a scratch directory. Interactive keys become signals: Ctrl-Z is SIGSTOP, fg SIGCONT, Ctrl-C SIGINT.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { CLI } from '../helpers/server.js';

/** The repository root (for build/Release/...). */
const REPO = fileURLToPath(new URL('../..', import.meta.url));
/** `listening on HOST:PORT (engine E, mode M)`. */
const READY_LINE = /^listening on (.+):(\d+) \(engine \S+, mode \S+\)$/m;
/** Longest the server may take to print its ready line. */
const READY_LIMIT_MS = 10_000;
/** Longest one quoted command may run. */
const COMMAND_LIMIT_MS = 20_000;
/** Longest a waitFor step or the server's exit may take. */
const WAIT_LIMIT_MS = 10_000;
/** The server's trace is complete once it has been quiet this long... */
const SETTLE_QUIET_MS = 300;
/** ...or after this long in all. */
const SETTLE_LIMIT_MS = 5_000;
/** Poll interval of every bounded wait here. */
const POLL_MS = 20;
/** A file the guide redirects the trace to (`2> trace.log`), read as the trace. */
const TRACE_FILE = 'trace.log';

/** One thing the reader does after starting the server. */
export type Step =
  /** A quoted command, run in bash (in the background when the guide puts `&` after it). */
  | { run: string; background?: boolean }
  /** A key pressed in the server's terminal. */
  | { signal: 'SIGSTOP' | 'SIGCONT' | 'SIGINT' }
  /** Wait until the trace shows this before the next step. */
  | { waitFor: RegExp }
  /** Wait until the trace has been quiet a moment: the loop is back in select(). */
  | { settle: true }
  /** Wait until the server has exited (after Ctrl-C). */
  | { exited: true };

/** A server command and what follows it; serve null: commands only. */
export interface Part {
  serve: string | null;
  steps: Step[];
}

/** What a part printed: the server's trace and the commands' stdout and stderr. */
export interface Printed {
  trace: string;
  output: string;
}

/** Every process group this module started and that may still run. */
const groups = new Set<ChildProcess>();

/** SIGKILLs every process group left running (afterEach). */
export function killExperimentLeftovers(): void {
  for (const child of groups) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  groups.clear();
}

/** A quoted command as it runs here: our CLI build, the test's port, the repository's binaries. */
export function translate(command: string, port: number): string {
  return command
    .replaceAll('7070', String(port))
    .replace(/(?:\.\/selectchat|node dist\/cli\/main\.js) (send|connect)\b/g, `node "$SELECTCHAT_CLI" $1 --port ${port}`)
    .replace(/(?:\.\/selectchat|node dist\/cli\/main\.js) serve\b/g, 'node "$SELECTCHAT_CLI" serve --port 0')
    .replace(/(^|\s)build\/Release\//g, '$1"$SELECTCHAT_REPO"/build/Release/');
}

/** Starts bash -c command in its own process group, in cwd; out receives stdout and stderr. */
function bash(command: string, cwd: string, out: (text: string) => void, err = out): ChildProcess {
  const child = spawn('bash', ['-c', command], {
    cwd,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, SELECTCHAT_CLI: CLI, SELECTCHAT_REPO: REPO },
  });
  groups.add(child);
  child.once('exit', () => groups.delete(child));
  child.stdout!.setEncoding('utf8').on('data', out);
  child.stderr!.setEncoding('utf8').on('data', err);
  return child;
}

/** Resolves once child has exited and its pipes are drained; SIGKILLs its group after limitMs. */
function finished(child: ChildProcess, what: string, limitMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      process.kill(-child.pid!, 'SIGKILL');
      reject(new Error(`${what}: still running after ${limitMs} ms`));
    }, limitMs);
    const done = (): void => {
      clearTimeout(timer);
      resolve();
    };
    if (child.exitCode !== null || child.signalCode !== null) done();
    else child.once('close', done);
  });
}

/** Polls until test() holds; fails with why() after limitMs. */
async function until(test: () => boolean, why: () => string, limitMs = WAIT_LIMIT_MS): Promise<void> {
  const deadline = performance.now() + limitMs;
  while (!test()) {
    if (performance.now() > deadline) throw new Error(why());
    await delay(POLL_MS);
  }
}

/** The node process serving: the bash child itself (exec), or strace's child under strace. */
function serverPid(pid: number): number {
  const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  if (comm !== 'strace') return pid;
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/);
  return Number(children[0]);
}

/** Waits until the trace has not grown for SETTLE_QUIET_MS (at most SETTLE_LIMIT_MS). */
async function settle(trace: () => string): Promise<void> {
  const started = performance.now();
  let seen = -1;
  let quietSince = started;
  while (performance.now() - quietSince < SETTLE_QUIET_MS && performance.now() - started < SETTLE_LIMIT_MS) {
    const length = trace().length;
    if (length !== seen) {
      seen = length;
      quietSince = performance.now();
    }
    await delay(POLL_MS);
  }
}

/** The server command with `--record FILE` added (the guide's timelines). */
function recording(command: string, record: string | null): string {
  // Workers record a file each (FILE-worker-N): a guide's page is of one process.
  return record === null || command.includes('--workers') ? command : command.replace(/ serve --port 0\b/, ` serve --port 0 --record '${record.replaceAll("'", "'\\''")}'`);
}

/** Runs one part in cwd and returns what it printed; with record, the server also records its
 *  rounds to that file (`serve --record`). */
export async function runPart(part: Part, cwd: string, record: string | null = null): Promise<Printed> {
  let trace = '';
  let stdout = '';
  let output = '';
  let port = 0;
  let server: ChildProcess | null = null;
  let pid = 0;
  const fullTrace = (): string => trace + (existsSync(`${cwd}/${TRACE_FILE}`) ? readFileSync(`${cwd}/${TRACE_FILE}`, 'utf8') : '');

  if (part.serve !== null) {
    server = bash(`exec ${recording(translate(part.serve, 0), record)}`, cwd, (text) => (stdout += text), (text) => (trace += text));
    const child = server;
    await until(
      () => READY_LINE.test(stdout) || child.exitCode !== null,
      () => `no ready line from "${part.serve}" within ${READY_LIMIT_MS} ms; stderr:\n${trace}`,
      READY_LIMIT_MS,
    );
    const ready = READY_LINE.exec(stdout);
    if (!ready) throw new Error(`"${part.serve}" exited before its ready line; stderr:\n${trace}`);
    port = Number(ready[2]);
    pid = serverPid(server.pid!);
  }

  const background: Promise<void>[] = [];
  for (const step of part.steps) {
    if ('run' in step) {
      const child = bash(translate(step.run, port), cwd, (text) => (output += text));
      const done = finished(child, step.run, COMMAND_LIMIT_MS);
      if (step.background) background.push(done);
      else await done;
    } else if ('signal' in step) {
      process.kill(pid, step.signal);
    } else if ('waitFor' in step) {
      await until(() => step.waitFor.test(fullTrace()), () => `the trace never showed ${step.waitFor}:\n${fullTrace().slice(-3000)}`);
    } else if ('settle' in step) {
      await settle(fullTrace);
    } else {
      await finished(server!, part.serve!, WAIT_LIMIT_MS);
    }
  }
  await Promise.all(background);

  if (server !== null) {
    // Let the last actions reach the trace, then stop the server as Ctrl-C would.
    await settle(fullTrace);
    if (server.exitCode === null && server.signalCode === null) process.kill(pid, 'SIGINT');
    await finished(server, part.serve!, WAIT_LIMIT_MS);
  }
  return { trace: fullTrace(), output };
}
