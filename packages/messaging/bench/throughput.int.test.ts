// Keeps the benchmarks runnable: each in a tiny mode against the real broker, no figure
// asserted, only that it completes and prints them.
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { runBenchScript } from '../src/testing/index.js';

const workspace = fileURLToPath(new URL('..', import.meta.url));

it('throughput.ts runs in its tiny mode and prints its figures', async () => {
  const { stdout } = await runBenchScript('bench/throughput.ts', ['--tiny'], {
    cwd: workspace,
    timeoutMs: 80_000,
  });
  expect(stdout).toContain('messages=100 window=16');
  expect(stdout).toMatch(/publish \(confirmed\)\s+\d+\/s\s+\d+\/s\s+[\d.]+/);
  expect(stdout).toMatch(/consume \+ ack\s+\d+\/s\s+\d+\/s\s+[\d.]+/);
});

it('telemetry-cost.ts runs with a handful of messages and prints its figures', async () => {
  const { stdout } = await runBenchScript('bench/telemetry-cost.ts', ['100', '16'], {
    cwd: workspace,
    timeoutMs: 80_000,
  });
  expect(stdout).toContain('messages=100 window=16');
  expect(stdout).toMatch(/publish \(confirmed\)\s+\d+\/s\s+\d+\/s\s+[\d.]+/);
  expect(stdout).toMatch(/CPU per message\s+[\d.]+ µs\s+[\d.]+ µs\s+[\d.]+/);
});
