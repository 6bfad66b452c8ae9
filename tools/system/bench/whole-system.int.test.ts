// Keeps the whole-system benchmark runnable: its tiny mode (every phase, the soak and the
// telemetry on/off pass, a few orders each) against the real broker and database. No
// figure is asserted; the script itself fails when an accepted order never completes.
import { fileURLToPath } from 'node:url';
import { runBenchScript } from '@notify/messaging/testing';
import { expect, it } from 'vitest';

const workspace = fileURLToPath(new URL('..', import.meta.url));

it('whole-system.ts runs in its tiny mode, soak, telemetry pass and commit batching included, and prints its figures', async () => {
  const { stdout } = await runBenchScript(
    'bench/whole-system.ts',
    ['--tiny', '--soak', '--otel', '--commit-delay', '10'],
    {
      cwd: workspace,
      timeoutMs: 590_000,
    },
  );
  expect(stdout).toContain('raw broker limit (amqplib');
  expect(stdout).toContain('PostgreSQL commit batching: commit_delay 10 us, commit_siblings 5');
  expect(stdout).toMatch(/\| closed loop c=4 \| \d+ \|/);
  expect(stdout).toMatch(/\| fixed 5\/s \| \d+ \|/);
  expect(stdout).toMatch(/\| six services \| [\d.]+ \| [\d.]+ \|/);
  expect(stdout).toContain('### telemetry on');
  expect(stdout).toContain('OTLP receiver (telemetry on)');
  expect(stdout).toMatch(/every order completed: (\d+) accepted, \1 complete/);
  expect(stdout).toMatch(
    /\| order-api \| [\d.]+ \| [\d.]+ \| [\d.]+ \| -?[\d.]+ \| -?[\d.]+ \| (flat|growing) \|/,
  );
}, 600_000);
