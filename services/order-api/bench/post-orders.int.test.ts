// Keeps the benchmark runnable: its tiny mode against the real broker and database, no
// figure asserted, only that it completes and prints them.
import { fileURLToPath } from 'node:url';
import { runBenchScript } from '@notify/messaging/testing';
import { expect, it } from 'vitest';

const workspace = fileURLToPath(new URL('..', import.meta.url));

it('post-orders.ts runs in its tiny mode and prints its figures', async () => {
  const { stdout } = await runBenchScript('bench/post-orders.ts', ['--tiny'], {
    cwd: workspace,
    timeoutMs: 170_000,
  });
  expect(stdout).toContain('Order API benchmark');
  for (const label of [
    'broker limit',
    'max sustained, zero errors',
    '201 -> all 5 confirmed',
    'CPU per order',
  ]) {
    expect(stdout).toContain(label);
  }
}, 180_000);
