import { runCli } from '@notify/stand-in-kit/testing';
import type { RunningCli } from '@notify/stand-in-kit/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { sandboxClient } from './test-support/twilio-client.js';

const packageRoot = new URL('..', import.meta.url);

let running: RunningCli | undefined;

afterEach(() => {
  running?.kill();
  running = undefined;
});

describe('whatsapp-sandbox CLI', () => {
  it('prints its URL, accepts the configured credentials, and stops cleanly on SIGTERM', async () => {
    const accountSid = `AC${'12'.repeat(16)}`;
    running = runCli(packageRoot, {
      WHATSAPP_SANDBOX_PORT: '0',
      TWILIO_ACCOUNT_SID: accountSid,
      TWILIO_AUTH_TOKEN: 'cli-token',
      LOG_LEVEL: 'silent',
    });
    const printed = await running.waitForOutput(
      /(http:\/\/127\.0\.0\.1:\d+)\s+\(use as TWILIO_API_BASE_URL\)/,
    );
    const url = printed[1] ?? '';

    const message = await sandboxClient(url, accountSid, 'cli-token').messages.create({
      to: 'whatsapp:+4915112345678',
      from: 'whatsapp:+14155238886',
      body: 'via cli',
    });
    expect(message.sid).toMatch(/^SM/);

    running.child.kill('SIGTERM');
    expect(await running.exited).toEqual({ code: 0, signal: null });
  }, 120_000);

  it('exits with an error naming NODE_ENV when started in production', async () => {
    running = runCli(packageRoot, { NODE_ENV: 'production', WHATSAPP_SANDBOX_PORT: '0' });
    expect(await running.exited).toEqual({ code: 1, signal: null });
    expect(running.stderr()).toMatch(/refuses to start with NODE_ENV=production/);
  }, 120_000);
});
