import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from './cli-process.js';
import type { RunningCli } from './cli-process.js';

const fixture = new URL('test-fixtures/cli/', import.meta.url);

let running: RunningCli | undefined;

afterEach(() => {
  running?.kill();
  running = undefined;
});

describe('runCli', () => {
  it("runs the package's src/main.ts, resolving waitForOutput with the first match of its output", async () => {
    running = runCli(fixture, { FIXTURE_NAME: 'fixture-1' });
    const match = await running.waitForOutput(/ready (\S+)/);
    expect(match[1]).toBe('fixture-1');
    running.child.kill('SIGTERM');
    expect(await running.exited).toEqual({ code: 0, signal: null });
    expect(running.stdout()).toContain('stopped');
  });

  it('starts the CLI with NODE_ENV=development unless the test sets it', async () => {
    running = runCli(fixture, {});
    await running.waitForOutput(/ready/);
    expect(running.stdout()).toContain('NODE_ENV=development');
    running.kill();

    running = runCli(fixture, { NODE_ENV: 'production', FIXTURE_EXIT_CODE: '1' });
    await running.exited;
    expect(running.stdout()).toContain('NODE_ENV=production');
  });

  it('rejects waitForOutput with both outputs when the process exits without printing the pattern', async () => {
    running = runCli(fixture, { FIXTURE_EXIT_CODE: '3' });
    await expect(running.waitForOutput(/ready/)).rejects.toThrow(
      /exited before printing \/ready\/; stdout: NODE_ENV=development\n; stderr: failing as told/,
    );
    expect(await running.exited).toEqual({ code: 3, signal: null });
    expect(running.stderr()).toBe('failing as told\n');
  });

  it('rejects waitForOutput after its deadline when the pattern never shows', async () => {
    running = runCli(fixture, {});
    await running.waitForOutput(/ready/);
    await expect(running.waitForOutput(/never printed/, 50)).rejects.toThrow(
      /no \/never printed\/ within 50 ms/,
    );
  });

  it('kill ends a process still running and leaves an ended one alone', async () => {
    running = runCli(fixture, {});
    await running.waitForOutput(/ready/);
    running.kill();
    expect(await running.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(() => running?.kill()).not.toThrow();
  });
});
