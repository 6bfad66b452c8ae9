import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { events, fullTopology, HEADERS, orderEventsConsumer, UNROUTABLE_QUEUE } from '@notify/contracts';
import { Broker, Publisher } from '@notify/messaging';
import { createTestVhost, waitFor } from '@notify/messaging/testing';
import type { TestVhost } from '@notify/messaging/testing';
import { createTestDatabase } from '@notify/service-kit/testing';
import type { TestDatabase } from '@notify/service-kit/testing';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrderViewBody } from '../http/order-schemas.js';
import { startOrderApi } from '../server.js';
import type { RunningOrderApi } from '../server.js';
import { deadLetter } from '../test-support/dead-letter.js';
import { validOrder } from '../test-support/order-fixtures.js';
import { startTestApi } from '../test-support/test-api.js';

// The order API moves dead letters and unroutable messages out of the broker into its
// database. These tests run on whichever broker AMQP_URL names; on RabbitMQ 4 (where a
// look at a queue in place counts a delivery) run them with `tools/rabbitmq4/rabbitmq4 env`.

const KEY = 'park-test-key-0123456789abcdef';
const auth = { authorization: `Bearer ${KEY}` };

let vh: TestVhost;
let db: TestDatabase;
let api: RunningOrderApi;
let broker: Broker;
let publisher: Publisher;
const logLines: Record<string, unknown>[] = [];

beforeAll(async () => {
  [vh, db] = await Promise.all([createTestVhost('park'), createTestDatabase('park')]);
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) logLines.push(JSON.parse(line));
      done();
    },
  });
  // No status consumer here: the last test starts one of its own when it wants one.
  api = await startOrderApi(
    {
      PORT: '0',
      OPS_PORT: '0',
      HOST: '127.0.0.1',
      RATE_LIMIT_MAX: '0',
      OUTBOX_POLL_INTERVAL_MS: '1000',
      AMQP_URL: vh.url,
      DATABASE_URL: db.url,
      API_KEYS: `ops=${KEY}`,
      API_OPERATORS: 'ops',
      STATUS_CONSUMER_ENABLED: 'false',
    },
    { logger: pino({ level: 'warn' }, sink) },
  );
  broker = await Broker.connect({ url: vh.url, connectionName: 'park-test', topology: fullTopology() });
  await broker.waitUntilConnected();
  publisher = new Publisher(broker, { timeoutMs: 10_000 });
});
afterAll(async () => {
  await publisher?.close();
  await broker?.close();
  await api?.stop();
  await vh?.delete();
  await db?.drop();
});

async function get<T>(path: string): Promise<T> {
  const res = await fetch(`${api.url}${path}`, { headers: auth });
  expect(res.status, path).toBe(200);
  return (await res.json()) as T;
}

async function replay(
  service: string,
  body: unknown,
): Promise<{ replayed: { messageId: string }[]; notFound: string[] }> {
  const res = await fetch(`${api.url}/dead-letters/${service}/replay`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...auth },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { replayed: { messageId: string }[]; notFound: string[] };
}

interface Listing {
  count: number;
  reasons: { reason: string; count: number }[];
  messages: { id: string; messageId: string; routingKey: string; reason: string }[];
  next: string | null;
}

/** Every parked row, every column, as the database holds it. */
async function parkedRows(): Promise<unknown[]> {
  const { rows } = await api.pool.query('SELECT * FROM parked_letters ORDER BY id');
  return rows;
}

describe('the dead-letter park', () => {
  it('lists a hundred times without changing a letter, leaves the broker queue empty, and replays each chosen letter once', async () => {
    const emailIds: string[] = [];
    for (let i = 0; i < 5; i++)
      emailIds.push(
        await deadLetter(
          publisher,
          'email',
          randomUUID(),
          i < 3 ? 'permanent-failure' : 'max-attempts-exceeded',
        ),
      );
    const whatsappId = await deadLetter(publisher, 'whatsapp', randomUUID(), 'permanent-failure');
    await waitFor(async () => (await get<{ total: number }>('/dead-letters')).total === 6 || undefined, {
      what: 'six letters parked',
    });
    expect(await vh.queue('email.dlq')).toMatchObject({ messages: 0 });

    const rowsBefore = await parkedRows();
    const listBefore = await get<Listing>('/dead-letters/email?limit=999');
    expect(listBefore.count).toBe(5);
    expect(listBefore.messages.map((m) => m.messageId)).toEqual(emailIds);
    expect(listBefore.reasons).toEqual([
      { reason: 'permanent-failure', count: 3, example: 'permanent-failure detail' },
      { reason: 'max-attempts-exceeded', count: 2, example: 'max-attempts-exceeded detail' },
    ]);
    for (let i = 0; i < 100; i++) {
      await get('/dead-letters');
      expect(await get<Listing>('/dead-letters/email?limit=999')).toEqual(listBefore);
    }
    expect(await parkedRows()).toEqual(rowsBefore);
    expect(await vh.queue('email.dlq')).toMatchObject({ messages: 0 });

    // Paging walks the same letters in the same order.
    const first = await get<Listing>('/dead-letters/email?limit=2');
    const second = await get<Listing>(`/dead-letters/email?limit=2&after=${first.next}`);
    const third = await get<Listing>(`/dead-letters/email?limit=2&after=${second.next}`);
    expect([...first.messages, ...second.messages, ...third.messages].map((m) => m.messageId)).toEqual(
      emailIds,
    );
    expect(third.next).toBeNull();

    // Replay two; they reach the work queue once each, with their ids, headers and key.
    const chosen = [emailIds[1]!, emailIds[3]!];
    const result = await replay('email', { messageIds: [...chosen, 'no-such-id'] });
    expect(result.replayed.map((l) => l.messageId)).toEqual(chosen);
    expect(result.notFound).toEqual(['no-such-id']);
    const delivered = await waitFor(
      async () => {
        const got = await vh.take('email', 10);
        return got.length ? got : undefined;
      },
      { what: 'the replayed letters in the email queue' },
    );
    const more = await vh.take('email', 10);
    expect([...delivered, ...more].map((m) => m.properties.message_id).sort()).toEqual([...chosen].sort());
    for (const m of delivered) {
      expect(m.properties.headers).toMatchObject({
        [HEADERS.attempt]: 1,
        [HEADERS.routingKey]: 'email',
        'x-replay-count': 1,
        traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`,
      });
      expect(m.properties.headers?.[HEADERS.deathReason]).toBeUndefined();
    }
    // A second replay of the same ids finds nothing: each went once.
    expect((await replay('email', { messageIds: chosen })).notFound).toEqual(chosen);
    // Every letter not chosen is exactly as it was.
    const left = (rowsBefore as { message_id: string }[]).filter((r) => !chosen.includes(r.message_id));
    expect(await parkedRows()).toEqual(left);
    expect((await get<Listing>('/dead-letters/whatsapp')).messages.map((m) => m.messageId)).toEqual([
      whatsappId,
    ]);
  });

  it('parks a message no queue is bound for, says so with its routing key, and replays it once the binding is back', async () => {
    const conn = broker.connection()!;
    const ch = await conn.createChannel();
    await ch.unbindQueue('fraud', 'notification', 'fraud');
    try {
      const res = await fetch(`${api.url}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...auth },
        body: JSON.stringify(validOrder()),
      });
      expect(res.status).toBe(201);
      const orderId = ((await res.json()) as { id: string }).id;
      const listed = await waitFor(
        async () => {
          const l = await get<Listing>('/dead-letters/unroutable');
          return l.count === 1 ? l : undefined;
        },
        { what: 'the fraud message parked as unroutable' },
      );
      expect(listed.messages).toEqual([
        expect.objectContaining({ messageId: `${orderId}:fraud`, routingKey: 'fraud', reason: 'unroutable' }),
      ]);
      expect(await vh.queue(UNROUTABLE_QUEUE.name)).toMatchObject({ messages: 0 });
      const metrics = (await api.ops.inject({ url: '/metrics' })).body;
      expect(metrics).toMatch(/^unroutable_messages_total\{[^}]*routing_key="fraud"[^}]*\} 1$/m);
      expect(metrics).toMatch(/^parked_letters\{[^}]*queue="notification\.unroutable\.queue"[^}]*\} 1$/m);
      expect(logLines).toContainEqual(
        expect.objectContaining({ level: 40, routingKey: 'fraud', messageId: `${orderId}:fraud` }),
      );
      // The other four channels got theirs.
      for (const q of ['email', 'whatsapp', 'logistic', 'payment']) {
        await waitFor(async () => ((await vh.queue(q))?.messages ?? 0) >= 1 || undefined, {
          what: `${q} queued`,
        });
      }
    } finally {
      await ch.bindQueue('fraud', 'notification', 'fraud');
      await ch.close();
    }
    expect((await vh.queue('fraud'))?.messages).toBe(0);
    const result = await replay('unroutable', { all: true });
    expect(result.replayed).toHaveLength(1);
    const arrived = await waitFor(
      async () => {
        const got = await vh.take('fraud', 10);
        return got.length ? got : undefined;
      },
      { what: 'the replayed message in the fraud queue' },
    );
    expect(arrived.map((m) => [m.properties.message_id, m.routing_key])).toEqual([
      [result.replayed[0]!.messageId, 'fraud'],
    ]);
    expect((await get<Listing>('/dead-letters/unroutable')).count).toBe(0);
  });

  it('replays an outcome event the broker dead-lettered under a rewritten routing key as the event it was', async () => {
    const res = await fetch(`${api.url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth },
      body: JSON.stringify(validOrder()),
    });
    const orderId = ((await res.json()) as { id: string }).id;
    // An email.sent event that a consumer kept giving back until the broker dead-lettered
    // it past the queue's delivery limit, under the queue's own routing key.
    const conn = broker.connection()!;
    const returner = await conn.createChannel();
    await returner.prefetch(1);
    await returner.consume(orderEventsConsumer.queue.name, (m) => m && returner.nack(m, false, true));
    const eventId = randomUUID();
    await publisher.publish(
      events.emailSent,
      {
        orderId,
        occurredAt: new Date().toISOString(),
        recipient: 'ada@example.com',
        smtpMessageId: `<${orderId}@shop>`,
        locale: 'en-GB',
      },
      { messageId: eventId, correlationId: orderId },
    );
    const parked = await waitFor(
      async () => {
        const l = await get<Listing>('/dead-letters/order-api');
        return l.count === 1 ? l.messages[0] : undefined;
      },
      { what: 'the event dead-lettered by the broker and parked' },
    );
    await returner.close();
    expect(parked).toMatchObject({
      messageId: eventId,
      routingKey: 'email.sent',
      reason: 'broker-delivery_limit',
    });

    // A status consumer reads it again as email.sent and the order's email succeeds.
    const status = await startTestApi({
      AMQP_URL: vh.url,
      DATABASE_URL: db.url,
      API_KEYS: `ops=${KEY}`,
      API_OPERATORS: 'ops',
      RELAY_ENABLED: 'false',
      PARK_DEAD_LETTERS: 'false',
    });
    try {
      expect((await replay('order-api', { messageIds: [eventId] })).replayed).toHaveLength(1);
      await waitFor(
        async () => {
          const o = await get<OrderViewBody>(`/orders/${orderId}`);
          return o.channels.email.state === 'succeeded' || undefined;
        },
        { what: "the replayed event to move the order's email to succeeded" },
      );
      expect((await get<Listing>('/dead-letters/order-api')).count).toBe(0);
    } finally {
      await status.stop();
    }
  });
});
