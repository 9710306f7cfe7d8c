import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Each file forks its own worker: fd-leak checks read /proc/self/fd of a process no other file shares.
    pool: 'forks',
    // Most files wait on sockets and child processes rather than compute: on 2 cores, three files
    // at a time finish in about half the time of one.
    maxWorkers: 3,
  },
});
