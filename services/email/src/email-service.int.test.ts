import { randomUUID } from 'node:crypto';
import {
  channelConsumers,
  deliveryEvents,
  events,
  exampleMessages,
  EXCHANGES,
  HEADERS,
  notifications,
} from '@notify/contracts';
import type { EmailMessage } from '@notify/contracts';
import type { MailCatcher, ReceivedMail } from '@notify/mail-catcher';
import { Broker, Publisher } from '@notify/messaging';
import { waitFor } from '@notify/messaging/testing';
import type { PeekedMessage, TestVhost } from '@notify/messaging/testing';
import type { RunningService } from '@notify/service-kit';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { EmailConfig } from './config.js';
import { startEmailSuite } from './test-support/email-suite.js';
import type { EmailSuite } from './test-support/email-suite.js';

interface SeenEvent {
  readonly routingKey: string;
  readonly messageId: string;
  readonly payload: Record<string, unknown>;
}

let suite: EmailSuite;
let vh: TestVhost;
let catcher: MailCatcher;
let service: RunningService<EmailConfig>;
let sql: pg.Pool;
let broker: Broker;
let publisher: Publisher;
const seen: SeenEvent[] = [];

beforeAll(async () => {
  // Short delays keep the retry paths quick; the policy's shape is the production one.
  suite = await startEmailSuite('email', { retry: { delaysMs: [200, 400, 800, 1600, 3200], jitter: 0.1 } });
  ({ vh, catcher, service, sql } = suite);
  broker = await Broker.connect({ url: vh.url, connectionName: 'email-test' });
  const conn = await broker.waitUntilConnected();
  publisher = new Publisher(broker);
  // What the order API would see: every outcome event of every channel.
  const ch = await conn.createChannel();
  const tap = await ch.assertQueue('', { exclusive: true });
  await ch.bindQueue(tap.queue, EXCHANGES.events.name, '#');
  await ch.consume(
    tap.queue,
    (m) => {
      if (!m) return;
      seen.push({
        routingKey: m.fields.routingKey,
        messageId: String(m.properties.messageId),
        payload: JSON.parse(m.content.toString('utf8')) as Record<string, unknown>,
      });
    },
    { noAck: true },
  );
});

afterEach(() => {
  catcher?.setBehaviour({});
});

afterAll(async () => {
  await publisher?.close();
  await broker?.close();
  await suite?.close();
});

function newOrder(overrides: Partial<EmailMessage> = {}): EmailMessage {
  const orderId = randomUUID();
  return {
    ...structuredClone(exampleMessages.email),
    orderId,
    recipient: { name: 'Ada Lovelace', email: `ada.${orderId.slice(0, 8)}@example.com` },
    ...overrides,
  };
}

async function deliver(message: EmailMessage): Promise<void> {
  await publisher.publish(notifications.email, message, {
    messageId: `${message.orderId}:email`,
    correlationId: message.orderId,
  });
}

function eventsOf(orderId: string, routingKey: string): SeenEvent[] {
  return seen.filter((e) => e.routingKey === routingKey && e.payload.orderId === orderId);
}

function mailsOf(orderId: string): ReceivedMail[] {
  return catcher.messages().filter((m) => m.headers['x-order-id'] === orderId);
}

async function row(orderId: string) {
  const r = await sql.query<{
    status: string;
    attempts: number;
    smtp_response: string | null;
    sent_at: Date | null;
  }>('SELECT status, attempts, smtp_response, sent_at FROM email.order_confirmations WHERE order_id = $1', [
    orderId,
  ]);
  return r.rows[0];
}

async function deadLetterOf(orderId: string): Promise<PeekedMessage> {
  const taken: PeekedMessage[] = [];
  return waitFor(
    async () => {
      taken.push(...(await vh.take(channelConsumers.email.deadLetterQueue.name)));
      return taken.find((m) => m.properties.message_id === `${orderId}:email`);
    },
    { timeoutMs: 30_000, what: `dead letter of ${orderId}` },
  );
}

describe('email service', () => {
  it('reports broker, consumer and database ready on its ops port', async () => {
    const res = await fetch(`http://127.0.0.1:${service.port}/readyz`);
    expect(await res.json()).toMatchObject({ checks: { broker: true, consumer: true, database: true } });
  });

  it('sends one confirmation with both bodies and publishes email.sent with the SMTP message id', async () => {
    const order = newOrder();
    await deliver(order);
    const mail = await catcher.waitFor((m) => m.headers['x-order-id'] === order.orderId, 30_000);
    expect(mail.envelope).toEqual({ from: 'orders@example.com', to: [order.recipient.email] });
    expect(mail.from).toEqual([{ name: 'Notify Shop', address: 'orders@example.com' }]);
    expect(mail.to).toEqual([{ name: 'Ada Lovelace', address: order.recipient.email }]);
    expect(mail.subject).toBe('Your order ORD-3F2C1A9E is confirmed');
    expect(mail.messageId).toBe(`<order-confirmation.${order.orderId}@example.com>`);
    expect(mail.headers['content-language']).toBe('en-GB');
    expect(mail.text).toContain('Hello Ada Lovelace,');
    expect(mail.text).toContain('2 × Notes on the Analytical Engine');
    expect(mail.text).toContain('Total: £39.98');
    expect(mail.html).toContain('<html lang="en-GB">');
    expect(mail.html).toMatch(/>£39\.98<\/td>/);

    const [sent] = await waitFor(
      () => {
        const list = eventsOf(order.orderId, events.emailSent.routingKey);
        return list.length ? list : null;
      },
      { what: 'email.sent' },
    );
    expect(sent?.messageId).toBe(`${order.orderId}:email.sent`);
    expect(sent?.payload).toMatchObject({
      orderId: order.orderId,
      recipient: order.recipient.email,
      smtpMessageId: mail.messageId,
      locale: 'en-GB',
    });
    expect(await row(order.orderId)).toMatchObject({ status: 'sent', attempts: 1 });
    expect((await row(order.orderId))?.smtp_response).toMatch(/^250 .*queued as /);
  });

  it('writes to a German customer in German, formats euros the German way and escapes markup in the name', async () => {
    const order = newOrder({
      locale: 'de-DE',
      recipient: { name: '<script>alert(1)</script>', email: `kunde.${randomUUID().slice(0, 8)}@example.de` },
    });
    order.order = {
      ...order.order,
      currency: 'EUR',
      lines: [
        { sku: 'LAMP-7', name: 'Schreibtischlampe', quantity: 1, unitPrice: 123456, lineTotal: 123456 },
      ],
      subtotal: 123456,
      shipping: 590,
      total: 124046,
    };
    await deliver(order);
    const mail = await catcher.waitFor((m) => m.headers['x-order-id'] === order.orderId, 30_000);
    expect(mail.subject).toBe('Ihre Bestellung ORD-3F2C1A9E ist bestätigt');
    expect(mail.to).toEqual([{ name: '<script>alert(1)</script>', address: order.recipient.email }]);
    expect(mail.text).toContain('Hallo <script>alert(1)</script>,');
    expect(mail.text).toContain('vom 23. November 2026 um 10:00 MEZ');
    expect(mail.text).toContain('Gesamtbetrag: 1.240,46\u00a0€');
    expect(mail.html).toContain('Hallo &lt;script&gt;alert(1)&lt;/script&gt;,');
    expect(mail.html).not.toContain('<script>');
    expect(mail.html).toContain('1.234,56\u00a0€');
  });

  it('when a delivery arrives twice, sends nothing more but re-publishes the same email.sent', async () => {
    const order = newOrder();
    await deliver(order);
    await waitFor(() => eventsOf(order.orderId, events.emailSent.routingKey).length === 1, {
      what: 'first email.sent',
    });
    const attemptsBefore = catcher.attempts();

    await deliver(order);
    const both = await waitFor(
      () => {
        const list = eventsOf(order.orderId, events.emailSent.routingKey);
        return list.length === 2 ? list : null;
      },
      { what: 'second email.sent' },
    );
    expect(both[1]?.messageId).toBe(both[0]?.messageId);
    expect(both[1]?.payload).toEqual(both[0]?.payload);
    expect(mailsOf(order.orderId)).toHaveLength(1);
    expect(catcher.attempts()).toBe(attemptsBefore);
    expect(await row(order.orderId)).toMatchObject({ status: 'sent', attempts: 1 });
  });

  it('retries SMTP 4xx answers with backoff and delivers the mail once', async () => {
    const order = newOrder();
    const attemptsBefore = catcher.attempts();
    catcher.setBehaviour({ transientFailures: 2 });
    await deliver(order);
    await waitFor(() => eventsOf(order.orderId, events.emailSent.routingKey).length === 1, {
      timeoutMs: 30_000,
      what: 'email.sent after retries',
    });
    expect(mailsOf(order.orderId)).toHaveLength(1);
    expect(catcher.attempts() - attemptsBefore).toBe(3);
    const retrying = eventsOf(order.orderId, deliveryEvents.email.retrying.routingKey);
    expect(retrying.map((e) => e.payload.attempt)).toEqual([1, 2]);
    expect(String(retrying[0]?.payload.reason)).toContain('451 4.3.0 try again later');
    expect(eventsOf(order.orderId, events.emailFailed.routingKey)).toEqual([]);
    expect(await row(order.orderId)).toMatchObject({ status: 'sent', attempts: 3 });
  });

  it('dead-letters a 5xx rejection at once with the server reply, and a replay after the fix sends once', async () => {
    const order = newOrder();
    catcher.setBehaviour({ rejectRecipients: [order.recipient.email] });
    await deliver(order);

    const dead = await deadLetterOf(order.orderId);
    const headers = dead.properties.headers ?? {};
    expect(headers[HEADERS.deathReason]).toBe('permanent-failure');
    expect(String(headers[HEADERS.deathDetail])).toContain('550 5.1.1 mailbox unavailable');
    expect(headers[HEADERS.attempt]).toBe(1);

    const [failed] = await waitFor(
      () => {
        const list = eventsOf(order.orderId, events.emailFailed.routingKey);
        return list.length ? list : null;
      },
      { what: 'email.failed' },
    );
    expect(failed?.payload).toMatchObject({
      reason: 'SMTP server rejected the message at RCPT TO with 550',
      smtpResponse: '550 5.1.1 mailbox unavailable',
    });
    await waitFor(() => eventsOf(order.orderId, deliveryEvents.email.deadLettered.routingKey).length === 1, {
      what: 'email.dead_lettered',
    });
    expect(eventsOf(order.orderId, deliveryEvents.email.retrying.routingKey)).toEqual([]);
    expect(mailsOf(order.orderId)).toEqual([]);
    expect(await row(order.orderId)).toMatchObject({ status: 'failed' });

    // The replay: the same message, with its original id, once the mailbox exists again.
    catcher.setBehaviour({});
    await deliver(order);
    await waitFor(() => eventsOf(order.orderId, events.emailSent.routingKey).length === 1, {
      what: 'email.sent after replay',
    });
    expect(mailsOf(order.orderId)).toHaveLength(1);
    expect(await row(order.orderId)).toMatchObject({ status: 'sent', attempts: 2 });
  });

  it('when two deliveries of one order overlap, one sends and the other waits and re-publishes', async () => {
    const order = newOrder();
    catcher.setBehaviour({ delayMs: 1_500 });
    await deliver(order);
    await deliver(order);
    await waitFor(() => eventsOf(order.orderId, events.emailSent.routingKey).length === 2, {
      timeoutMs: 30_000,
      what: 'email.sent from both deliveries',
    });
    expect(mailsOf(order.orderId)).toHaveLength(1);
    const retrying = eventsOf(order.orderId, deliveryEvents.email.retrying.routingKey);
    expect(retrying.length).toBeGreaterThan(0);
    expect(String(retrying[0]?.payload.reason)).toContain('is sending its confirmation');
  });

  it('takes over the claim of a worker that died mid-send and sends with the same Message-ID', async () => {
    const order = newOrder();
    await sql.query(
      `INSERT INTO email.order_confirmations
         (order_id, status, delivery_message_id, recipient, locale, smtp_message_id, claim_token, lease_until)
       VALUES ($1, 'sending', $2, $3, 'en-GB', $4, $5, now() - interval '1 second')`,
      [
        order.orderId,
        `${order.orderId}:email`,
        order.recipient.email,
        `<order-confirmation.${order.orderId}@example.com>`,
        randomUUID(),
      ],
    );
    await deliver(order);
    const mail = await catcher.waitFor((m) => m.headers['x-order-id'] === order.orderId, 30_000);
    expect(mail.messageId).toBe(`<order-confirmation.${order.orderId}@example.com>`);
    await waitFor(() => eventsOf(order.orderId, events.emailSent.routingKey).length === 1, {
      what: 'email.sent',
    });
    expect(await row(order.orderId)).toMatchObject({ status: 'sent', attempts: 2 });
  });

  it('after a crash between recording the send and publishing, a redelivery publishes the stored outcome', async () => {
    const order = newOrder();
    const sentAt = '2026-11-23T09:00:07.000Z';
    await sql.query(
      `INSERT INTO email.order_confirmations
         (order_id, status, delivery_message_id, recipient, locale, smtp_message_id, smtp_response, sent_at)
       VALUES ($1, 'sent', $2, $3, 'en-GB', $4, '250 2.0.0 OK', $5)`,
      [
        order.orderId,
        `${order.orderId}:email`,
        order.recipient.email,
        `<order-confirmation.${order.orderId}@example.com>`,
        sentAt,
      ],
    );
    const attemptsBefore = catcher.attempts();
    await deliver(order);
    const [sent] = await waitFor(
      () => {
        const list = eventsOf(order.orderId, events.emailSent.routingKey);
        return list.length ? list : null;
      },
      { what: 'email.sent' },
    );
    expect(sent?.messageId).toBe(`${order.orderId}:email.sent`);
    expect(sent?.payload).toEqual({
      orderId: order.orderId,
      occurredAt: sentAt,
      recipient: order.recipient.email,
      smtpMessageId: `<order-confirmation.${order.orderId}@example.com>`,
      locale: 'en-GB',
    });
    expect(catcher.attempts()).toBe(attemptsBefore);
  });
});
