import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import {
  channelConsumers,
  CHANNELS,
  deliveryEvents,
  events,
  fullTopology,
  notifications,
} from '@notify/contracts';
import type { Contract, Payload } from '@notify/contracts';
import { Broker, Consumer, PermanentError, Publisher } from '@notify/messaging';
import { createTestVhost, waitFor } from '@notify/messaging/testing';
import type { TestVhost } from '@notify/messaging/testing';
import { deliveryEventsObserver } from '@notify/service-kit';
import { createTestDatabase } from '@notify/service-kit/testing';
import type { TestDatabase } from '@notify/service-kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrderViewBody } from './http/order-schemas.js';
import type { RunningOrderApi } from './server.js';
import { openEventStream } from './test-support/event-stream.js';
import type { StreamEvent } from './test-support/event-stream.js';
import { validOrder } from './test-support/order-fixtures.js';
import { startTestApi } from './test-support/test-api.js';

const KEY = 'status-loop-test-key-0123456789';
const auth = { authorization: `Bearer ${KEY}` };

let vh: TestVhost;
let db: TestDatabase;
let api: RunningOrderApi;
let broker: Broker;
let publisher: Publisher;

beforeAll(async () => {
  [vh, db] = await Promise.all([createTestVhost('status-loop'), createTestDatabase('status_loop')]);
  api = await startTestApi({
    AMQP_URL: vh.url,
    DATABASE_URL: db.url,
    API_KEYS: `ops=${KEY}`,
    API_OPERATORS: 'ops',
  });
  broker = await Broker.connect({
    url: vh.url,
    connectionName: 'status-loop-test',
    topology: fullTopology(),
  });
  publisher = new Publisher(broker, { timeoutMs: 10_000 });
});
afterAll(async () => {
  await publisher?.close();
  await broker?.close();
  await api?.stop();
  await vh?.delete();
  await db?.drop();
});

async function placeOrder(email?: string): Promise<string> {
  const body = validOrder();
  if (email) body.customer.email = email;
  const res = await fetch(`${api.url}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...auth },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

async function getOrder(id: string): Promise<OrderViewBody> {
  const res = await fetch(`${api.url}/orders/${id}`, { headers: auth });
  expect(res.status).toBe(200);
  return (await res.json()) as OrderViewBody;
}

async function emit<C extends Contract>(contract: C, payload: Payload<C>): Promise<void> {
  const orderId = (payload as { orderId: string }).orderId;
  await publisher.publish(contract, payload, { messageId: randomUUID(), correlationId: orderId });
}

/** Outcome events the API's consumer has settled so far (from its own metrics). */
async function eventsSettled(): Promise<number> {
  const text = (await api.ops.inject({ url: '/metrics' })).body;
  const m = /messages_processed_total\{[^}]*queue="order-api\.events"[^}]*outcome="ack"[^}]*\} (\d+)/.exec(
    text,
  );
  return m?.[1] ? Number(m[1]) : 0;
}

async function openStreams(): Promise<number> {
  const text = (await api.ops.inject({ url: '/metrics' })).body;
  return Number(/^order_event_streams\{[^}]*\} (\d+)/m.exec(text)?.[1] ?? -1);
}

const statusOf = (e: StreamEvent) => (JSON.parse(e.data) as { status: string }).status;
const at = () => new Date().toISOString();
const SID = `SM${'ab'.repeat(16)}`;

describe('the status loop', () => {
  it('follows every channel to its final state over SSE, with late, reordered and duplicate events', async () => {
    const id = await placeOrder();
    const stream = await openEventStream(`${api.url}/orders/${id}/events`, auth);
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toContain('text/event-stream');
    const first = await stream.waitFor(() => true);
    expect(first.event).toBe('order');
    expect(JSON.parse(first.data)).toMatchObject({ id, channels: { email: { state: expect.any(String) } } });
    expect(JSON.parse(first.data)).not.toHaveProperty('customer');
    await stream.waitFor((e) => statusOf(e) === 'processing');

    const sequence: [Contract, Record<string, unknown>][] = [
      // WhatsApp: the `delivered` callback overtakes the send's own event.
      [events.whatsappStatus, { orderId: id, occurredAt: at(), messageSid: SID, status: 'delivered' }],
      [
        events.whatsappSent,
        { orderId: id, occurredAt: at(), to: '+447700900123', messageSid: SID, status: 'queued' },
      ],
      // Email: a retry, then success, then the same success again.
      [
        deliveryEvents.email.retrying,
        {
          orderId: id,
          occurredAt: at(),
          channel: 'email',
          attempt: 1,
          delayMs: 1000,
          reason: 'SMTP timeout',
        },
      ],
      [
        events.emailSent,
        {
          orderId: id,
          occurredAt: at(),
          recipient: 'ada@example.com',
          smtpMessageId: '<1@shop>',
          locale: 'en-GB',
        },
      ],
      [
        events.emailSent,
        {
          orderId: id,
          occurredAt: at(),
          recipient: 'ada@example.com',
          smtpMessageId: '<1@shop>',
          locale: 'en-GB',
        },
      ],
      // Payment: success, then a retry event that arrives late.
      [
        events.paymentAuthorized,
        {
          orderId: id,
          occurredAt: at(),
          authorizationId: 'auth_42',
          amount: 5248,
          currency: 'GBP',
          gateway: 'sandbox',
        },
      ],
      [
        deliveryEvents.payment.retrying,
        {
          orderId: id,
          occurredAt: at(),
          channel: 'payment',
          attempt: 1,
          delayMs: 1000,
          reason: 'gateway 503',
        },
      ],
      [
        events.shipmentCreated,
        {
          orderId: id,
          occurredAt: at(),
          shipmentId: randomUUID(),
          carrier: 'Royal Mail',
          serviceLevel: 'tracked-48',
          trackingNumber: 'RM123456789GB',
          estimatedDelivery: '2026-11-26',
          totalWeightGrams: 930,
        },
      ],
      [
        events.fraudAssessed,
        {
          orderId: id,
          occurredAt: at(),
          score: 12,
          decision: 'approve',
          rules: [{ id: 'new-customer', points: 12, detail: 'first order' }],
        },
      ],
    ];
    const before = await eventsSettled();
    for (const [contract, payload] of sequence) await emit(contract, payload as Payload<typeof contract>);

    const done = await stream.waitFor((e) => statusOf(e) === 'completed');
    const live = JSON.parse(done.data) as Pick<OrderViewBody, 'channels'>;
    for (const c of CHANNELS) expect(live.channels[c].state, c).toBe('succeeded');

    // The consumer applies events concurrently, so a change that leaves the order
    // `completed` (the late send event filling in the recipient, say) can be applied and
    // streamed after `completed` was. Look at the order once every event of the round is
    // applied, and count the streamed events once the stream shows the same.
    await waitFor(async () => (await eventsSettled()) >= before + sequence.length || undefined, {
      what: 'the first round settled',
    });
    const order = await getOrder(id);
    const orderView = {
      id: order.id,
      reference: order.reference,
      status: order.status,
      channels: order.channels,
    };
    await waitFor(
      async () => {
        const last = stream.events.at(-1);
        return (last && isDeepStrictEqual(JSON.parse(last.data), orderView)) || undefined;
      },
      { what: 'the stream to show the settled order' },
    );
    expect(order.status).toBe('completed');
    expect(order.channels.email).toMatchObject({
      state: 'succeeded',
      attempts: 1,
      details: {
        smtpMessageId: '<1@shop>',
        recipient: 'ada@example.com',
        lastError: { reason: 'SMTP timeout' },
      },
    });
    expect(order.channels.whatsapp.details).toMatchObject({
      messageSid: SID,
      to: '+447700900123',
      deliveryStatus: 'delivered',
    });
    expect(order.channels.payment).toMatchObject({
      state: 'succeeded',
      details: { authorizationId: 'auth_42' },
    });
    expect(order.channels.logistic.details).toMatchObject({
      carrier: 'Royal Mail',
      trackingNumber: 'RM123456789GB',
    });
    expect(order.channels.fraud.details).toMatchObject({ score: 12, decision: 'approve' });

    // Everything again, as a broker redelivery would: nothing changes, nothing is streamed.
    const settled = await eventsSettled();
    const streamed = stream.events.length;
    for (const [contract, payload] of sequence) await emit(contract, payload as Payload<typeof contract>);
    await waitFor(async () => (await eventsSettled()) >= settled + sequence.length || undefined, {
      what: 'the repeated events settled',
    });
    expect(await getOrder(id)).toEqual(order);
    // A later, real change is streamed; the repeats before it were not.
    await emit(events.whatsappStatus, { orderId: id, occurredAt: at(), messageSid: SID, status: 'read' });
    const read = await stream.waitFor((e) => e.data.includes('"deliveryStatus":"read"'));
    expect(stream.events.indexOf(read)).toBe(streamed);
    stream.close();
    await waitFor(async () => (await openStreams()) === 0 || undefined, {
      what: 'the stream to be released',
    });
  });

  it('an order fraud wants reviewed is flagged; a failed and dead-lettered email needs attention', async () => {
    const flagged = await placeOrder();
    await emit(events.fraudAssessed, {
      orderId: flagged,
      occurredAt: at(),
      score: 80,
      decision: 'review',
      rules: [{ id: 'velocity', points: 80, detail: 'five orders in ten minutes' }],
    });
    await waitFor(async () => (await getOrder(flagged)).status === 'flagged' || undefined, {
      what: 'flagged',
    });

    const rejected = await placeOrder();
    await emit(deliveryEvents.email.deadLettered, {
      orderId: rejected,
      occurredAt: at(),
      channel: 'email',
      attempts: 1,
      reason: 'permanent-failure: 550 5.1.1 no such user',
    });
    await emit(events.emailFailed, {
      orderId: rejected,
      occurredAt: at(),
      reason: 'mailbox unknown',
      smtpResponse: '550 5.1.1 no such user',
    });
    const order = await waitFor(
      async () => {
        const o = await getOrder(rejected);
        return o.channels.email.state === 'dead_lettered' &&
          (o.channels.email.details as Record<string, unknown>)['failure']
          ? o
          : undefined;
      },
      { what: 'email dead-lettered with the failure details' },
    );
    expect(order.status).toBe('attention');
    expect(order.channels.email.details).toMatchObject({
      failure: { smtpResponse: '550 5.1.1 no such user' },
      deadLetter: { attempts: 1 },
    });
  });

  it('shows dead letters per service and replays one with its message id, after which it succeeds once', async () => {
    // The SMTP server refuses this address until the cause is fixed; other orders' emails go out.
    const REFUSED = 'nobody@refused.example';
    let refuse = true;
    const sent: string[] = [];
    const email = new Consumer(broker, {
      topology: channelConsumers.email,
      contracts: [notifications.email],
      publisher,
      observer: deliveryEventsObserver({ channel: 'email', publisher }),
      handler: async ({ payload, ctx }) => {
        if (refuse && payload.recipient.email === REFUSED)
          throw new PermanentError('mailbox unknown', { detail: '550 5.1.1 no such user' });
        if (payload.recipient.email === REFUSED) sent.push(ctx.messageId);
        await emit(events.emailSent, {
          orderId: payload.orderId,
          occurredAt: at(),
          recipient: payload.recipient.email,
          smtpMessageId: `<${payload.orderId}@shop>`,
          locale: 'en-GB',
        });
      },
    });
    await email.start();
    try {
      const id = await placeOrder(REFUSED);
      const dead = await waitFor(
        async () => {
          const o = await getOrder(id);
          return o.channels.email.state === 'dead_lettered' ? o : undefined;
        },
        { what: 'email dead-lettered' },
      );
      expect(dead.status).toBe('attention');

      const summary = await waitFor(
        async () => {
          const res = await fetch(`${api.url}/dead-letters`, { headers: auth });
          expect(res.status).toBe(200);
          const body = (await res.json()) as {
            total: number;
            services: {
              service: string;
              count: number;
              oldest: { orderId: string } | null;
              reasons: { reason: string; count: number; example: string }[];
            }[];
          };
          return body.services.find((s) => s.service === 'email' && s.count === 1 && s.oldest)
            ? body
            : undefined;
        },
        { what: 'the dead letter listed' },
      );
      expect(summary.services.map((s) => s.service)).toEqual([...CHANNELS, 'order-api', 'unroutable']);
      const emailDlq = summary.services.find((s) => s.service === 'email')!;
      expect(emailDlq.oldest?.orderId).toBe(id);
      expect(emailDlq.reasons).toEqual([
        { reason: 'permanent-failure', count: 1, example: expect.stringContaining('550 5.1.1') },
      ]);

      const listed = await fetch(`${api.url}/dead-letters/email?limit=10`, { headers: auth });
      const { messages } = (await listed.json()) as { messages: { messageId: string; orderId: string }[] };
      const messageId = dead.channels.email.messageId;
      expect(messages).toEqual([expect.objectContaining({ messageId, orderId: id })]);

      // The cause is fixed: replay exactly that message.
      refuse = false;
      const replay = await fetch(`${api.url}/dead-letters/email/replay`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...auth },
        body: JSON.stringify({ messageIds: [messageId] }),
      });
      expect(replay.status).toBe(200);
      expect(await replay.json()).toMatchObject({
        service: 'email',
        replayed: [{ messageId, orderId: id }],
        notFound: [],
      });

      const healed = await waitFor(
        async () => {
          const o = await getOrder(id);
          return o.channels.email.state === 'succeeded' ? o : undefined;
        },
        { what: 'the replayed email to succeed' },
      );
      expect(healed.channels.email.details).toMatchObject({
        replays: 1,
        previousDeadLetter: { attempts: 1 },
      });
      expect(sent).toEqual([messageId]);
      await waitFor(
        async () => {
          const res = await fetch(`${api.url}/dead-letters/email`, { headers: auth });
          return ((await res.json()) as { count: number }).count === 0 || undefined;
        },
        { what: 'the dead-letter queue empty' },
      );
      expect(sent).toEqual([messageId]);
    } finally {
      await email.stop();
    }
  });

  it('protects streams and dead letters with the API key, and refuses bad replay requests', async () => {
    const id = await placeOrder();
    for (const [method, path] of [
      ['GET', `/orders/${id}/events`],
      ['GET', '/dead-letters'],
      ['GET', '/dead-letters/email'],
      ['POST', '/dead-letters/email/replay'],
    ] as const) {
      const res = await fetch(`${api.url}${path}`, {
        method,
        headers: { 'content-type': 'application/json' },
        ...(method === 'POST' ? { body: JSON.stringify({ all: true }) } : {}),
      });
      expect(res.status, `${method} ${path}`).toBe(401);
    }
    const replay = (body: unknown, service = 'email') =>
      fetch(`${api.url}/dead-letters/${service}/replay`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...auth },
        body: JSON.stringify(body),
      });
    expect((await replay({})).status).toBe(422);
    expect((await replay({ all: true, messageIds: ['a'] })).status).toBe(422);
    expect((await replay({ messageIds: ['a'], limit: 3 })).status).toBe(422);
    expect((await replay({ all: true, extra: 1 })).status).toBe(400);
    expect((await replay({ all: true }, 'sms')).status).toBe(400);
    expect((await replay({ messageIds: [] })).status).toBe(400);
    const missing = await fetch(`${api.url}/orders/${randomUUID()}/events`, { headers: auth });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toContain('application/problem+json');
  });

  it('a stream on another replica sees changes made through this one, and ends when that replica stops', async () => {
    const other = await startTestApi({
      AMQP_URL: vh.url,
      DATABASE_URL: db.url,
      API_KEYS: `ops=${KEY}`,
      API_OPERATORS: 'ops',
      RELAY_ENABLED: 'false',
      STATUS_CONSUMER_ENABLED: 'false',
      SSE_HEARTBEAT_MS: '200',
    });
    let stopped = false;
    try {
      const id = await placeOrder();
      const stream = await openEventStream(`${other.url}/orders/${id}/events`, auth);
      await stream.waitFor(() => true);
      await waitFor(async () => stream.comments > 0 || undefined, { what: 'a keep-alive comment' });
      await emit(events.fraudAssessed, {
        orderId: id,
        occurredAt: at(),
        score: 95,
        decision: 'reject',
        rules: [],
      });
      await stream.waitFor((e) => statusOf(e) === 'flagged');
      await other.stop();
      stopped = true;
      await stream.ended;
    } finally {
      if (!stopped) await other.stop();
    }
  });
});
