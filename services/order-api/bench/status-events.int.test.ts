// Keeps the benchmark runnable: its tiny mode against the real broker and database, no
// figure asserted, only that it completes and prints them.
import { fileURLToPath } from 'node:url';
import { runBenchScript } from '@notify/messaging/testing';
import { expect, it } from 'vitest';

const workspace = fileURLToPath(new URL('..', import.meta.url));

it('status-events.ts runs in its tiny mode and prints its figures', async () => {
  const { stdout } = await runBenchScript('bench/status-events.ts', ['--tiny'], {
    cwd: workspace,
    timeoutMs: 170_000,
  });
  expect(stdout).toContain('status loop, 5 orders');
  expect(stdout).toMatch(/raw consume\+ack\s+\d+ msg\/s/);
  expect(stdout).toMatch(/status consumer \(applied\)\s+\d+ events\/s/);
  expect(stdout).toMatch(/channels succeeded\s+25 of 25/);
}, 180_000);
