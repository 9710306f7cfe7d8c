// System errors that the kernel reports as a number rather than a failed call (SO_ERROR).
import { getSystemErrorName } from 'node:util';
import type { SystemError } from './native.js';

/** Builds the Error a failed `syscall` would have thrown for this errno (positive, as in C). */
export function systemError(errno: number, syscall: string, detail?: string): SystemError {
  const code = getSystemErrorName(-errno);
  const message = detail ? `${syscall} ${code} ${detail}` : `${syscall} ${code}`;
  return Object.assign(new Error(message), { code, errno: -errno, syscall });
}
