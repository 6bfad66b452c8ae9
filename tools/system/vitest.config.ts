import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Each suite runs the whole system (six processes); side by side they would only
    // compete for the same CPUs and make every deadline tighter.
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
