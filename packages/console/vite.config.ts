import { defineConfig } from 'vitest/config';

// The page is served by the order API under /console/ with a Content-Security-Policy
// that allows only files of its own origin: nothing may be inlined into the HTML (no
// module-preload polyfill script, no data: URLs for assets), and nothing comes from a CDN.
export default defineConfig({
  base: '/console/',
  oxc: {
    jsx: { runtime: 'automatic', importSource: 'preact' },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    target: 'es2022',
  },
  test: {
    environment: 'node',
    include: ['src/**/*.test.ts'],
  },
});
