import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // At least two files at a time. vitest's default is one worker fewer than the CPUs,
    // so on a 2-CPU machine (CI's) one file at a time, and the image check
    // (images.int.test.ts), which takes minutes waiting on the npm ci and builds it runs in
    // child processes, held the other files (the broker permissions, about two minutes
    // more) back until it was done: with two workers they run beside it.
    maxWorkers: Math.max(2, availableParallelism() - 1),
  },
});
