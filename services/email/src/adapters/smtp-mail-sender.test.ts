import { once } from 'node:events';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { exampleMessages } from '@notify/contracts';
import { startMailCatcher } from '@notify/mail-catcher';
import type { MailCatcher } from '@notify/mail-catcher';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { composeOrderConfirmation } from '../order-confirmation-mail.js';
import { parseSmtpUrl } from '../smtp-endpoint.js';
import { MailDeliveryError } from '../smtp-failure.js';
import { SmtpMailSender } from './smtp-mail-sender.js';

const timeouts = {
  poolSize: 2,
  maxPerSecond: 0,
  maxMessagesPerConnection: 100,
  connectionTimeoutMs: 2_000,
  greetingTimeoutMs: 500,
  socketTimeoutMs: 5_000,
  requireTls: false,
};

function mailFor(recipient: string) {
  return composeOrderConfirmation(
    { ...structuredClone(exampleMessages.email), recipient: { name: 'Ada Lovelace', email: recipient } },
    {
      from: { name: 'Notify Shop', address: 'orders@example.com' },
      replyTo: undefined,
      messageIdDomain: 'example.com',
      defaultLocale: 'en-GB',
      unsubscribe: { url: 'http://127.0.0.1:3000/unsubscribe', secret: 'x'.repeat(32) },
    },
  );
}

async function failure(mailer: SmtpMailSender, recipient = 'ada@example.com'): Promise<MailDeliveryError> {
  try {
    await mailer.send(mailFor(recipient));
  } catch (err) {
    if (err instanceof MailDeliveryError) return err;
    throw err;
  }
  throw new Error('expected the send to fail');
}

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

/** A TCP server that accepts connections and does `onSocket` with them. */
async function tcpServer(onSocket: (s: net.Socket) => void): Promise<number> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    onSocket(s);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  closers.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });
  return (server.address() as AddressInfo).port;
}

function mailerAt(port: number): SmtpMailSender {
  const mailer = new SmtpMailSender({ ...timeouts, smtp: { host: '127.0.0.1', port, secure: false } });
  closers.push(() => mailer.close());
  return mailer;
}

describe('SMTP mailer against network failures', () => {
  it('reports a refused connection as transient', async () => {
    const port = await tcpServer(() => undefined);
    await closers.pop()?.(); // nothing listens on the port any more
    const f = await failure(mailerAt(port));
    expect(f.retryable).toBe(true);
    expect(f.code).toBe('ECONNREFUSED');
  });

  it('reports a server that never greets as transient', async () => {
    const port = await tcpServer(() => undefined);
    const f = await failure(mailerAt(port));
    expect(f.retryable).toBe(true);
    expect(f.message).toContain('GREETING_TIMEOUT');
  });

  it('reports a connection reset mid-conversation as transient', async () => {
    const port = await tcpServer((s) => {
      s.write('220 flaky.example ESMTP\r\n');
      s.once('data', () => s.resetAndDestroy());
    });
    const f = await failure(mailerAt(port));
    expect(f.retryable).toBe(true);
    expect(f.responseCode).toBeUndefined();
  });
});

describe('SMTP mailer against the mail catcher', () => {
  let catcher: MailCatcher;
  let mailer: SmtpMailSender;
  beforeAll(async () => {
    catcher = await startMailCatcher({ smtpPort: 0, httpPort: 0 });
    // The mail catcher greets at once, but a loaded machine can pause this process past
    // the half second the never-greeting server's test uses.
    mailer = new SmtpMailSender({
      ...timeouts,
      greetingTimeoutMs: 10_000,
      smtp: parseSmtpUrl(catcher.smtpUrl),
    });
  });
  afterAll(async () => {
    await mailer?.close();
    await catcher?.close();
  });

  it('returns the server reply of an accepted message', async () => {
    catcher.setBehaviour({});
    const sent = await mailer.send(mailFor('accepted@example.com'));
    expect(sent.smtpResponse).toMatch(/^250 .*queued as /);
    const mail = await catcher.waitFor((m) => m.envelope.to.includes('accepted@example.com'));
    expect(mail.messageId).toBe('<order-confirmation.3f2c1a9e-7b4d-4c8e-9f1a-2b3c4d5e6f70@example.com>');
  });

  it('with SMTP_MAX_PER_SECOND, hands the limit to the pool and still delivers every mail held back', async () => {
    catcher.setBehaviour({});
    const limited = new SmtpMailSender({
      ...timeouts,
      maxPerSecond: 2,
      greetingTimeoutMs: 10_000,
      smtp: parseSmtpUrl(catcher.smtpUrl),
    });
    try {
      // nodemailer's pool does the holding back (rateLimit messages per rateDelta ms); this
      // checks the setting reaches it, and that the mail past the limit is sent, not dropped.
      const options = (limited['transporter'] as unknown as { options: Record<string, unknown> }).options;
      expect(options).toMatchObject({ pool: true, rateLimit: 2, rateDelta: 1000 });
      await Promise.all(['r1', 'r2', 'r3'].map((r) => limited.send(mailFor(`${r}@rate.example.com`))));
      for (const r of ['r1', 'r2', 'r3'])
        await catcher.waitFor((m) => m.envelope.to.includes(`${r}@rate.example.com`));
    } finally {
      await limited.close();
    }
  });

  it('classifies 451 as transient and 550 as permanent with the reply', async () => {
    catcher.setBehaviour({ transientFailures: 1 });
    const deferred = await failure(mailer);
    expect(deferred).toMatchObject({ retryable: true, responseCode: 451 });

    catcher.setBehaviour({ rejectRecipients: ['gone@example.com'] });
    const rejected = await failure(mailer, 'gone@example.com');
    expect(rejected).toMatchObject({
      retryable: false,
      responseCode: 550,
      smtpResponse: '550 5.1.1 mailbox unavailable',
    });
  });
});
