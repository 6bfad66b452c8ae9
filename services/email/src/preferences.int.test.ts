import { randomUUID } from 'node:crypto';
import { EXCHANGES, exampleMessages, notifications, preferencesChanged } from '@notify/contracts';
import type { CustomerPreferences, EmailMessage } from '@notify/contracts';
import { Broker, Publisher } from '@notify/messaging';
import { waitFor } from '@notify/messaging/testing';
import { verifyUnsubscribeToken, DEV_UNSUBSCRIBE_SECRET } from '@notify/service-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmailSuite } from './test-support/email-suite.js';
import type { EmailSuite } from './test-support/email-suite.js';

// Customer preferences as the email service sees them: its copy follows the order API's
// customer.preferences messages, and an order for a customer who opted out sends nothing,
// is reported email.skipped and acked, also when it was queued before the opt-out.

let suite: EmailSuite;
let broker: Broker;
let publisher: Publisher;
const seen: { routingKey: string; orderId: unknown; reason: unknown }[] = [];

beforeAll(async () => {
  suite = await startEmailSuite('email-prefs', { retry: { delaysMs: [200, 400], jitter: 0.1 } });
  broker = await Broker.connect({ url: suite.vh.url, connectionName: 'email-prefs-test' });
  const conn = await broker.waitUntilConnected();
  publisher = new Publisher(broker);
  const ch = await conn.createChannel();
  const tap = await ch.assertQueue('', { exclusive: true });
  await ch.bindQueue(tap.queue, EXCHANGES.events.name, 'email.*');
  await ch.consume(
    tap.queue,
    (m) => {
      if (!m) return;
      const payload = JSON.parse(m.content.toString('utf8')) as Record<string, unknown>;
      seen.push({ routingKey: m.fields.routingKey, orderId: payload['orderId'], reason: payload['reason'] });
    },
    { noAck: true },
  );
});

afterAll(async () => {
  await publisher?.close();
  await broker?.close();
  await suite?.close();
});

function orderFor(customerKey: string): EmailMessage {
  return {
    ...structuredClone(exampleMessages.email),
    orderId: randomUUID(),
    recipient: { name: 'Ada Lovelace', email: 'ada@example.com' },
    subscriber: { client: 'shop-eu', customerKey },
  };
}

async function deliver(message: EmailMessage): Promise<void> {
  await publisher.publish(notifications.email, message, { messageId: `${message.orderId}:email` });
}

async function setPreferences(customerKey: string, optedOut: boolean, version: number): Promise<void> {
  const message: CustomerPreferences = {
    subscriber: { client: 'shop-eu', customerKey },
    email: { optedOut },
    whatsapp: { optedOut: false },
    version,
    updatedAt: new Date().toISOString(),
  };
  await publisher.publish(preferencesChanged, message, { messageId: `shop-eu:${customerKey}:v${version}` });
}

async function copiedVersion(customerKey: string): Promise<number | undefined> {
  const r = await suite.sql.query<{ version: string }>(
    'SELECT version FROM email.customer_preferences WHERE client = $1 AND customer_key = $2',
    ['shop-eu', customerKey],
  );
  return r.rows[0] ? Number(r.rows[0].version) : undefined;
}

const eventsOf = (orderId: string, key: string) =>
  seen.filter((e) => e.orderId === orderId && e.routingKey === key);

describe('email preferences', () => {
  it('signs a one-click unsubscribe link for the subscriber into every mail', async () => {
    const order = orderFor('cust-sent');
    await deliver(order);
    const mail = await suite.catcher.waitFor((m) => m.headers['x-order-id'] === order.orderId, 30_000);
    expect(mail.headers['list-unsubscribe-post']).toBe('List-Unsubscribe=One-Click');
    const url = new URL(/<([^>]+)>/.exec(mail.headers['list-unsubscribe'] ?? '')?.[1] ?? '');
    expect(`${url.origin}${url.pathname}`).toBe('http://127.0.0.1:3000/unsubscribe');
    expect(verifyUnsubscribeToken(url.searchParams.get('token') ?? '', DEV_UNSUBSCRIBE_SECRET)).toEqual({
      client: 'shop-eu',
      customerKey: 'cust-sent',
      channel: 'email',
    });
  });

  it('sends nothing to a customer who opted out, reports email.skipped, and a duplicate sends nothing more', async () => {
    await setPreferences('cust-out', true, 1);
    await waitFor(() => copiedVersion('cust-out'), { timeoutMs: 30_000, what: 'the copy of cust-out' });
    const order = orderFor('cust-out');
    await deliver(order);
    await deliver(order);
    await waitFor(() => eventsOf(order.orderId, 'email.skipped').length >= 2, {
      timeoutMs: 30_000,
      what: 'two email.skipped events',
    });
    expect(eventsOf(order.orderId, 'email.skipped')[0]?.reason).toBe(
      'the customer opted out of order emails',
    );
    // The decision is taken before any SMTP conversation: nothing was sent, nor will be.
    expect(suite.catcher.messages().filter((m) => m.headers['x-order-id'] === order.orderId)).toEqual([]);
    expect(eventsOf(order.orderId, 'email.sent')).toEqual([]);
    const confirmation = await suite.sql.query<{ status: string }>(
      'SELECT status FROM email.order_confirmations WHERE order_id = $1',
      [order.orderId],
    );
    expect(confirmation.rows[0]?.status).not.toBe('sent');
  });

  it('follows the newest version only: an opt-in after the opt-out sends again, a late older message changes nothing', async () => {
    await setPreferences('cust-back', true, 1);
    await setPreferences('cust-back', false, 2);
    await waitFor(async () => (await copiedVersion('cust-back')) === 2, {
      timeoutMs: 30_000,
      what: 'version 2',
    });
    await setPreferences('cust-back', true, 1);
    // A marker behind the late message on the same queue: once it is copied, so was the late one.
    await setPreferences('cust-marker', false, 1);
    await waitFor(() => copiedVersion('cust-marker'), { timeoutMs: 30_000, what: 'the marker' });
    expect(await copiedVersion('cust-back')).toBe(2);
    const order = orderFor('cust-back');
    await deliver(order);
    await suite.catcher.waitFor((m) => m.headers['x-order-id'] === order.orderId, 30_000);
    expect(eventsOf(order.orderId, 'email.skipped')).toEqual([]);
  });
});
