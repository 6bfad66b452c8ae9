import { runCli } from '@notify/stand-in-kit/testing';
import type { RunningCli } from '@notify/stand-in-kit/testing';
import nodemailer from 'nodemailer';
import { afterEach, describe, expect, it } from 'vitest';

const packageRoot = new URL('..', import.meta.url);

let running: RunningCli | undefined;

afterEach(() => {
  running?.kill();
  running = undefined;
});

describe('mail-catcher CLI', () => {
  it('prints where SMTP and the web page are, catches mail, and stops cleanly on SIGTERM', async () => {
    running = runCli(packageRoot, {
      MAIL_CATCHER_SMTP_PORT: '0',
      MAIL_CATCHER_HTTP_PORT: '0',
      LOG_LEVEL: 'silent',
    });
    const smtp = await running.waitForOutput(/SMTP\s+(smtp:\/\/127\.0\.0\.1:\d+)/);
    const web = await running.waitForOutput(/web\s+(http:\/\/127\.0\.0\.1:\d+)/);

    await nodemailer
      .createTransport(smtp[1] ?? '')
      .sendMail({ from: 'a@shop.example', to: 'b@example.com', subject: 'via cli', text: 't' });
    const messages = (await (await fetch(`${web[1]}/api/messages`)).json()) as Array<{ subject: string }>;
    expect(messages.map((mail) => mail.subject)).toEqual(['via cli']);

    running.child.kill('SIGTERM');
    expect(await running.exited).toEqual({ code: 0, signal: null });
  }, 120_000);

  it('exits with an error naming NODE_ENV when started in production', async () => {
    running = runCli(packageRoot, {
      NODE_ENV: 'production',
      MAIL_CATCHER_SMTP_PORT: '0',
      MAIL_CATCHER_HTTP_PORT: '0',
    });
    expect(await running.exited).toEqual({ code: 1, signal: null });
    expect(running.stderr()).toMatch(/refuses to start with NODE_ENV=production/);
  }, 120_000);

  it('exits with an error naming the variable that holds a bad port', async () => {
    running = runCli(packageRoot, { MAIL_CATCHER_SMTP_PORT: 'not-a-port' });
    expect(await running.exited).toEqual({ code: 1, signal: null });
    expect(running.stderr()).toMatch(/MAIL_CATCHER_SMTP_PORT/);
  }, 120_000);
});
