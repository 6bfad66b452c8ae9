// Keeps the two design measurements of issue 16 runnable: single-publish fan-out (CC) and
// PostgreSQL round trips, each in its tiny mode against the real broker and database. No
// figure is asserted; each script itself fails when a queue or the table misses a message.
import { fileURLToPath } from 'node:url';
import { runBenchScript } from '@notify/messaging/testing';
import { expect, it } from 'vitest';

const workspace = fileURLToPath(new URL('..', import.meta.url));

it('cc-fanout.ts runs in its tiny mode and prints both sides', async () => {
  const { stdout } = await runBenchScript('bench/cc-fanout.ts', ['--tiny'], {
    cwd: workspace,
    timeoutMs: 170_000,
  });
  expect(stdout).toContain('orders=20 window=8');
  expect(stdout).toMatch(/\| orders\/s \(confirmed\) \| \d+ \| \d+ \| [\d.]+ \|/);
  expect(stdout).toMatch(/\| client CPU, ms \| [\d.]+ \| [\d.]+ \|/);
}, 180_000);

it('pg-round-trips.ts runs in its tiny mode and prints the three ways', async () => {
  const { stdout } = await runBenchScript('bench/pg-round-trips.ts', ['--tiny'], {
    cwd: workspace,
    timeoutMs: 170_000,
  });
  expect(stdout).toMatch(/messages=64 window=8, synchronous_commit=\w+/);
  expect(stdout).toMatch(/\| messages\/s \| \d+ \| \d+ \| \d+ \| [\d.]+ \| [\d.]+ \|/);
  expect(stdout).toMatch(/\| PostgreSQL session CPU, ms \| ([\d.]+|n\/a) \| /);
}, 180_000);
