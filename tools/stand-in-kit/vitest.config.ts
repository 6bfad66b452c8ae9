import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    // The CLI runner's tests start child processes through tsx; on a machine busy with
    // other suites that takes far longer than vitest's 5 s default, without anything being wrong.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
