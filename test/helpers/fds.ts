// Counting a process's open file descriptors (the measure every fd-leak check compares), and
// opening enough of them that the next ones are numbered high.
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import type { OpenFds } from './sockets.js';

/**
 * How many fds the process has open, as /proc/<pid>/fd lists them. For 'self' the count
 * includes the directory fd used to read the list: compare two counts, not a count and a constant.
 */
export function openFdCount(pid: number | 'self' = 'self'): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** The soft limit on open fds (`ulimit -n`) from /proc/<pid>/limits; Infinity when unlimited. */
export function openFdLimit(pid: number | 'self' = 'self'): number {
  const line = readFileSync(`/proc/${pid}/limits`, 'utf8')
    .split('\n')
    .find((text) => text.startsWith('Max open files'));
  // Columns: name, soft limit, hard limit, units — separated by runs of spaces.
  const soft = line?.split(/\s{2,}/)[1];
  return soft === undefined || soft === 'unlimited' ? Infinity : Number(soft);
}

/** count fds on /dev/null, always readable and writable, tracked by fds; lowest first. */
export function devNullFds(fds: OpenFds, count: number): number[] {
  const opened = Array.from({ length: count }, () => fds.track(openSync('/dev/null', 'r')));
  return opened.sort((a, b) => a - b);
}

/** The fewest open fds a test needs to get one above FD_SETSIZE (1024) plus some already open. */
export const FDS_NEEDED_ABOVE_SETSIZE = 1100;

/**
 * Opens /dev/null until it gets an fd at or above `fd` (fds are numbered lowest-free first), at
 * most `most` times; returns every fd opened, in order. The caller closes them.
 */
export function openDevNullUntil(fd: number, most: number): number[] {
  const opened: number[] = [];
  try {
    while (opened.length < most && (opened.at(-1) ?? -1) < fd) {
      opened.push(openSync('/dev/null', 'r'));
    }
  } catch (error) {
    for (const each of opened) closeSync(each);
    throw error;
  }
  return opened;
}
