import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // The image check (each service built the Dockerfile's way and started from the result)
    // runs by `npm run check:images` until services ship their dist/migrations via `files`.
    exclude:
      process.env.INFRA_CHECK_IMAGES === '1'
        ? configDefaults.exclude
        : [...configDefaults.exclude, 'src/images.int.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
