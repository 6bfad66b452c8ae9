// Keeps the per-service drain benchmark runnable: a backlog of a few orders, each service
// alone, raw consume+ack, all five together. No figure is asserted.
import { fileURLToPath } from 'node:url';
import { runBenchScript } from '@notify/messaging/testing';
import { expect, it } from 'vitest';
import { CHANNELS } from '@notify/contracts';

const workspace = fileURLToPath(new URL('..', import.meta.url));

it('drain-backlog.ts runs on a tiny backlog and prints its figures', async () => {
  const { stdout } = await runBenchScript(
    'bench/drain-backlog.ts',
    ['--orders', '20', '--together', '--max-drain-seconds', '240'],
    { cwd: workspace, timeoutMs: 590_000 },
  );
  for (const channel of CHANNELS) {
    expect(stdout).toMatch(new RegExp(`\\| ${channel}\\s+\\|\\s+\\d+ \\|\\s+\\d+ \\|`));
  }
}, 600_000);
