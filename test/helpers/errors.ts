// What the addon's failures must look like, for the tests that provoke them.
import { constants as os } from 'node:os';
import { expect } from 'vitest';

/** Calls fn and returns what it threw; fails the test if it returned. */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw, but the call returned');
}

/** What a failed system call must look like: Node's code, its negative errno, the call's name. */
export function nodeSystemError(code: keyof typeof os.errno, syscall: string) {
  return expect.objectContaining({
    code,
    errno: -os.errno[code],
    syscall,
    message: expect.stringMatching(new RegExp(`^${syscall} ${code}`)),
  });
}
