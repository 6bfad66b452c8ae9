import { randomUUID } from 'node:crypto';
import { EXCHANGES, HEADERS, events } from '@notify/contracts';
import type { Payload } from '@notify/contracts';
import { Broker, Publisher } from '@notify/messaging';
import { createTestVhost, waitFor } from '@notify/messaging/testing';
import type { TestVhost } from '@notify/messaging/testing';
import { createTestDatabase } from '@notify/service-kit/testing';
import type { TestDatabase } from '@notify/service-kit/testing';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrderViewBody } from '../http/order-schemas.js';
import type { RunningOrderApi } from '../server.js';
import { validOrder } from '../test-support/order-fixtures.js';
import { startTestApi } from '../test-support/test-api.js';

// The order API believes an outcome event only from the broker user that owns its channel
// (CHANNEL_OWNERS), as the broker verified it. Here the payment and email services have
// users of their own; the API runs as the vhost's test user, which owns the other channels.

const KEY = 'event-ownership-test-key-0123456789';
const auth = { authorization: `Bearer ${KEY}` };

let vh: TestVhost;
let db: TestDatabase;
let api: RunningOrderApi;
const clients: { broker: Broker; publisher: Publisher }[] = [];
let payment: Publisher;
let email: Publisher;
let paymentUser: string;
let emailUser: string;

async function publisherFor(url: string): Promise<Publisher> {
  const broker = await Broker.connect({
    url,
    connectionName: 'event-ownership-test',
    topologyMode: 'verify',
  });
  const publisher = new Publisher(broker, { timeoutMs: 10_000 });
  clients.push({ broker, publisher });
  return publisher;
}

beforeAll(async () => {
  [vh, db] = await Promise.all([createTestVhost('event-owner'), createTestDatabase('event_owner')]);
  const paymentUrl = await vh.addUser('payment');
  const emailUrl = await vh.addUser('email');
  paymentUser = decodeURIComponent(new URL(paymentUrl).username);
  emailUser = decodeURIComponent(new URL(emailUrl).username);
  api = await startTestApi({
    AMQP_URL: vh.url,
    DATABASE_URL: db.url,
    API_KEYS: `ops=${KEY}`,
    API_OPERATORS: 'ops',
    CHANNEL_OWNERS: `payment=${paymentUser},email=${emailUser}`,
  });
  // The API declares the whole topology (TOPOLOGY=declare, as in the local run); the
  // services' publishers only check it.
  await waitFor(() => api.statusConsumer?.isConsuming, { timeoutMs: 60_000, what: 'the status consumer' });
  payment = await publisherFor(paymentUrl);
  email = await publisherFor(emailUrl);
});

afterAll(async () => {
  for (const c of clients) {
    await c.publisher.close();
    await c.broker.close();
  }
  await api?.stop();
  await vh?.delete();
  await db?.drop();
});

async function placeOrder(): Promise<string> {
  // A 503 is the API's answer when its database does not answer within its short
  // connection timeout (a loaded machine); a client tries again, and so does this test.
  for (let tries = 1; ; tries++) {
    const res = await fetch(`${api.url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth },
      body: JSON.stringify(validOrder()),
    });
    if (res.status === 503 && tries < 5) continue;
    expect(res.status).toBe(201);
    return ((await res.json()) as { id: string }).id;
  }
}

async function getOrder(id: string): Promise<OrderViewBody> {
  const res = await fetch(`${api.url}/orders/${id}`, { headers: auth });
  return (await res.json()) as OrderViewBody;
}

async function refused(reason: string): Promise<number> {
  const text = (await api.ops.inject({ url: '/metrics' })).body;
  const line = text
    .split('\n')
    .find(
      (l) =>
        l.startsWith('outcome_events_refused_total{') &&
        l.includes('channel="payment"') &&
        l.includes(`reason="${reason}"`),
    );
  return line ? Number(line.split(' ').at(-1)) : 0;
}

const authorized = (orderId: string): Payload<typeof events.paymentAuthorized> => ({
  orderId,
  occurredAt: new Date().toISOString(),
  authorizationId: `auth_${randomUUID().slice(0, 8)}`,
  amount: 1999,
  currency: 'EUR',
  gateway: 'simulated',
});

interface ParkedView {
  messageId: string;
  reason: string;
  detail: string | null;
}

/**
 * Waits for the dead letter of this message where an operator sees it: the API drains its
 * dead-letter queue into PostgreSQL and lists the parked letters.
 */
async function deadLetterOf(messageId: string): Promise<ParkedView> {
  return waitFor(
    async () => {
      const res = await fetch(`${api.url}/dead-letters/order-api?limit=999`, { headers: auth });
      expect(res.status).toBe(200);
      const listing = (await res.json()) as { messages: ParkedView[] };
      return listing.messages.find((m) => m.messageId === messageId);
    },
    { timeoutMs: 60_000, what: `dead letter ${messageId}` },
  );
}

describe('an outcome event changes its channel only when its channel’s owner published it', () => {
  it("dead-letters with the reason, counts, and ignores payment.authorized from the email service's user", async () => {
    const id = await placeOrder();
    const messageId = randomUUID();
    const before = await refused('not-channel-owner');
    await email.publish(events.paymentAuthorized, authorized(id), {
      messageId,
      correlationId: id,
      // Claiming to be republished for the payment service changes nothing: it came through order.events.
      headers: { [HEADERS.publishedBy]: paymentUser },
    });
    const letter = await deadLetterOf(messageId);
    expect(letter.detail).toContain(
      `published by broker user "${emailUser}"; only "${paymentUser}" may report on payment`,
    );
    expect(await refused('not-channel-owner')).toBe(before + 1);
    expect((await getOrder(id)).channels.payment.state).not.toBe('succeeded');
  });

  it('refuses an event whose type names another channel than its routing key', async () => {
    const id = await placeOrder();
    const messageId = randomUUID();
    await email.publishRaw({
      exchange: EXCHANGES.events.name,
      routingKey: events.emailSent.routingKey,
      content: Buffer.from(JSON.stringify(authorized(id))),
      properties: {
        messageId,
        correlationId: id,
        type: events.paymentAuthorized.type,
        contentType: 'application/json',
      },
    });
    await deadLetterOf(messageId);
    expect((await getOrder(id)).channels.payment.state).not.toBe('succeeded');
  });

  it('refuses an event that carries no user id', async () => {
    const id = await placeOrder();
    const messageId = randomUUID();
    const before = await refused('unverified-publisher');
    const conn = await amqp.connect(vh.url);
    try {
      const ch = await conn.createConfirmChannel();
      ch.publish(
        EXCHANGES.events.name,
        events.paymentAuthorized.routingKey,
        Buffer.from(JSON.stringify(authorized(id))),
        {
          messageId,
          correlationId: id,
          type: events.paymentAuthorized.type,
          contentType: 'application/json',
          persistent: true,
        },
      );
      await ch.waitForConfirms();
    } finally {
      await conn.close();
    }
    await deadLetterOf(messageId);
    expect(await refused('unverified-publisher')).toBe(before + 1);
    expect((await getOrder(id)).channels.payment.state).not.toBe('succeeded');
  });

  it("applies payment.authorized from the payment service's own user", async () => {
    const id = await placeOrder();
    await payment.publish(events.paymentAuthorized, authorized(id), {
      messageId: randomUUID(),
      correlationId: id,
    });
    await waitFor(async () => (await getOrder(id)).channels.payment.state === 'succeeded', {
      timeoutMs: 60_000,
      what: 'payment succeeded',
    });
  });
});
