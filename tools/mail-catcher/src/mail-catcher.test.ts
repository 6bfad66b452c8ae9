import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startMailCatcher } from './mail-catcher.js';
import type { MailCatcher } from './mail-catcher.js';
import type { ReceivedMail } from './received-mail.js';
import { sendExpectingFailure, transportFor } from './test-support/smtp-client.js';

// Generous: other suites may be loading the machine at the same time.
const WAIT_MS = 30_000;

let catcher: MailCatcher;

beforeEach(async () => {
  catcher = await startMailCatcher();
});

afterEach(async () => {
  await catcher.close();
});

async function getJson<T>(path: string): Promise<{ status: number; body: T }> {
  const response = await fetch(`${catcher.httpUrl}${path}`);
  return { status: response.status, body: (await response.json()) as T };
}

describe('mail catcher over real SMTP', () => {
  it('listens on ephemeral ports by default and reports where', () => {
    expect(catcher.smtpPort).toBeGreaterThan(0);
    expect(catcher.httpPort).toBeGreaterThan(0);
    expect(catcher.smtpUrl).toBe(`smtp://127.0.0.1:${catcher.smtpPort}`);
    expect(catcher.httpUrl).toBe(`http://127.0.0.1:${catcher.httpPort}`);
  });

  it('keeps a mail sent with nodemailer and serves it parsed over the JSON API', async () => {
    const info = await transportFor(catcher).sendMail({
      from: '"Shop" <orders@shop.example>',
      to: 'Ada Lovelace <ada@example.com>',
      bcc: 'audit@shop.example',
      subject: 'Your order 1234 is confirmed',
      text: 'Thank you for your order.',
      html: '<p>Thank you for your <b>order</b>.</p>',
      headers: { 'X-Order-Id': 'order-1234' },
    });
    expect(info.response).toMatch(/^250 .*queued as /);

    const list = await getJson<ReceivedMail[]>('/api/messages');
    expect(list.status).toBe(200);
    expect(list.body).toHaveLength(1);
    const [mail] = list.body;
    expect(mail).toMatchObject({
      envelope: { from: 'orders@shop.example', to: ['ada@example.com', 'audit@shop.example'] },
      from: [{ name: 'Shop', address: 'orders@shop.example' }],
      to: [{ name: 'Ada Lovelace', address: 'ada@example.com' }],
      subject: 'Your order 1234 is confirmed',
      text: 'Thank you for your order.',
      html: '<p>Thank you for your <b>order</b>.</p>',
      messageId: info.messageId,
    });
    expect(mail?.headers['x-order-id']).toBe('order-1234');
    expect(mail?.date).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    expect(mail?.size).toBeGreaterThan(0);

    const one = await getJson<ReceivedMail>(`/api/messages/${mail?.id}`);
    expect(one.status).toBe(200);
    expect(one.body).toEqual(mail);
    expect(catcher.messages()).toEqual(list.body);
    expect(catcher.attempts()).toBe(1);
  });

  it('answers 404 for a message id it does not hold', async () => {
    const missing = await getJson<{ error: string }>('/api/messages/does-not-exist');
    expect(missing.status).toBe(404);
  });

  it('waitFor resolves when a matching mail arrives later', async () => {
    const waiting = catcher.waitFor((mail) => mail.subject === 'second', WAIT_MS);
    const transport = transportFor(catcher);
    await transport.sendMail({ from: 'a@shop.example', to: 'b@example.com', subject: 'first', text: '1' });
    await transport.sendMail({ from: 'a@shop.example', to: 'b@example.com', subject: 'second', text: '2' });
    await expect(waiting).resolves.toMatchObject({ subject: 'second' });
  });

  it('waitFor rejects with a clear error when nothing matches in time', async () => {
    await expect(catcher.waitFor(() => false, 50)).rejects.toThrow(/no received mail matched within 50 ms/);
  });

  it('DELETE /api/messages forgets every message and the attempt count', async () => {
    await transportFor(catcher).sendMail({
      from: 'a@shop.example',
      to: 'b@example.com',
      subject: 's',
      text: 't',
    });
    const response = await fetch(`${catcher.httpUrl}/api/messages`, { method: 'DELETE' });
    expect(response.status).toBe(204);
    expect(catcher.messages()).toEqual([]);
    expect(catcher.attempts()).toBe(0);
  });
});

describe('behaviour controls', () => {
  it('a rejected recipient gets 550 5.1.1, which nodemailer reports with responseCode 550', async () => {
    catcher.setBehaviour({ rejectRecipients: ['blocked@example.com'] });
    const failure = await sendExpectingFailure(() =>
      transportFor(catcher).sendMail({
        from: 'a@shop.example',
        to: 'Blocked@Example.com',
        subject: 's',
        text: 't',
      }),
    );
    expect(failure.responseCode).toBe(550);
    expect(failure.response).toMatch(/^550 5\.1\.1 mailbox unavailable/);
    expect(catcher.messages()).toEqual([]);
    expect(catcher.attempts()).toBe(1);
  });

  it('rejectRecipients entries work as regular expressions and leave other recipients alone', async () => {
    catcher.setBehaviour({ rejectRecipients: ['^bounce-.*@example\\.com$'] });
    const transport = transportFor(catcher);
    const failure = await sendExpectingFailure(() =>
      transport.sendMail({ from: 'a@shop.example', to: 'bounce-7@example.com', subject: 's', text: 't' }),
    );
    expect(failure.responseCode).toBe(550);

    const info = await transport.sendMail({
      from: 'a@shop.example',
      to: ['bounce-8@example.com', 'fine@example.com'],
      subject: 'partly rejected',
      text: 't',
    });
    expect(info.rejected).toEqual(['bounce-8@example.com']);
    const mail = await catcher.waitFor((m) => m.subject === 'partly rejected', WAIT_MS);
    expect(mail.envelope.to).toEqual(['fine@example.com']);
    expect(catcher.attempts()).toBe(2);
  });

  it('transient failures answer DATA with 451 4.3.0 the given number of times, then accept', async () => {
    catcher.setBehaviour({ transientFailures: 2 });
    const transport = transportFor(catcher);
    const send = () =>
      transport.sendMail({ from: 'a@shop.example', to: 'b@example.com', subject: 'retried', text: 't' });

    const first = await sendExpectingFailure(send);
    const second = await sendExpectingFailure(send);
    expect(first.responseCode).toBe(451);
    expect(first.response).toMatch(/^451 4\.3\.0 try again later/);
    expect(second.responseCode).toBe(451);
    expect(catcher.messages()).toEqual([]);

    await send();
    expect(catcher.messages().map((mail) => mail.subject)).toEqual(['retried']);
    expect(catcher.attempts()).toBe(3);
    expect(catcher.behaviour().transientFailures).toBe(0);
  });

  it('delayMs holds back the DATA answer by at least that long', async () => {
    catcher.setBehaviour({ delayMs: 200 });
    const started = performance.now();
    await transportFor(catcher).sendMail({
      from: 'a@shop.example',
      to: 'b@example.com',
      subject: 's',
      text: 't',
    });
    expect(performance.now() - started).toBeGreaterThanOrEqual(195);
  });

  it('behaviour set over HTTP applies to SMTP, and setting it again replaces every field', async () => {
    const put = await fetch(`${catcher.httpUrl}/api/behaviour`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ rejectRecipients: ['nobody@example.com'], transientFailures: 1 }),
    });
    expect(put.status).toBe(200);
    expect(await put.json()).toEqual({
      rejectRecipients: ['nobody@example.com'],
      transientFailures: 1,
      delayMs: 0,
    });

    const transport = transportFor(catcher);
    const rejected = await sendExpectingFailure(() =>
      transport.sendMail({ from: 'a@shop.example', to: 'nobody@example.com', subject: 's', text: 't' }),
    );
    expect(rejected.responseCode).toBe(550);

    await fetch(`${catcher.httpUrl}/api/behaviour`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(catcher.behaviour()).toEqual({ rejectRecipients: [], transientFailures: 0, delayMs: 0 });
    await transport.sendMail({ from: 'a@shop.example', to: 'nobody@example.com', subject: 's', text: 't' });
    const attempts = await getJson<{ attempts: number }>('/api/attempts');
    expect(attempts.body).toEqual({ attempts: 2 });
  });

  it('rejects a behaviour with an invalid pattern or an unknown field, keeping the previous one', async () => {
    catcher.setBehaviour({ delayMs: 5 });
    const put = (body: unknown) =>
      fetch(`${catcher.httpUrl}/api/behaviour`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const badPattern = await put({ rejectRecipients: ['(unclosed'] });
    expect(badPattern.status).toBe(400);
    expect(((await badPattern.json()) as { error: string }).error).toMatch(/not a valid regular expression/);
    const typo = await put({ transientFailure: 1 });
    expect(typo.status).toBe(400);
    const wrongType = await put({ transientFailures: '2' });
    expect(wrongType.status).toBe(400);
    expect(catcher.behaviour().delayMs).toBe(5);
  });
});

describe('production guard', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('refuses to start when NODE_ENV is production', async () => {
    vi.stubEnv('NODE_ENV', 'production');
    await expect(startMailCatcher()).rejects.toThrow(/refuses to start with NODE_ENV=production/);
  });
});
