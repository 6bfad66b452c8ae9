import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Each suite runs the whole system (six processes); side by side they would only
    // compete for the same CPUs and make every deadline tighter. The fault suite itself
    // (private broker nodes and PostgreSQL, several minutes) is not a test file here: it
    // runs by command, `npm run system:faults`, as its own CI step (docs/reliability.md);
    // its unit tests in src/faults run here.
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
