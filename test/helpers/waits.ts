// Timing for the wait() tests: a short timeout, and events another process makes happen while
// this one is blocked in a synchronous wait() (its own thread cannot, being blocked).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

/** A short timeout, and how much of it a wait() must at least have waited (timer slack aside). */
export const SHORT_TIMEOUT_MS = 50;
export const SHORT_TIMEOUT_FLOOR_MS = 45;

/** How long after its start a child acts: long enough for the test to be blocked by then. */
export const LATER_MS = 100;
/** How long a wait() that the child ends must at least have blocked. */
export const LATER_FLOOR_MS = 90;

/**
 * Runs `sh -c command` LATER_MS from now in a child that holds `fd` as its fd 3 until it exits:
 * `printf x >&3` writes to it. If the caller closes its own copy, the child's exit is the last
 * close, so a wait on the other end of a socket ends even if the command never acts.
 */
export function inAMoment(command: string, fd: number): ChildProcess {
  return spawn('sh', ['-c', `sleep ${LATER_MS / 1000}; ${command}`], {
    stdio: ['ignore', 'ignore', 'inherit', fd],
  });
}

/** Kills child if it is still running and resolves once it has exited. */
export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}
