import { randomInt, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  channelConsumers,
  EXCHANGES,
  events,
  exampleMessages,
  HEADERS,
  notifications,
} from '@notify/contracts';
import type { FraudMessage, Payload } from '@notify/contracts';
import { Broker, Publisher } from '@notify/messaging';
import { createTestVhost, waitFor } from '@notify/messaging/testing';
import type { PeekedMessage, TestVhost } from '@notify/messaging/testing';
import { createPool } from '@notify/service-kit';
import type { Pool, RunningService } from '@notify/service-kit';
import { createTestDatabase } from '@notify/service-kit/testing';
import type { TestDatabase } from '@notify/service-kit/testing';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FraudConfig } from './config.js';
import { DEFAULT_RULES_FILE } from './fraud-rules.js';
import { startFraudService } from './service.js';

type Assessed = Payload<typeof events.fraudAssessed>;
interface ReceivedEvent {
  readonly messageId: string | undefined;
  readonly correlationId: unknown;
  readonly payload: Assessed;
}

const EVENTS_QUEUE = 'test.fraud-assessed';

let vh: TestVhost;
let db: TestDatabase;
let dir: string;
let rulesFile: string;
let service: RunningService<FraudConfig>;
let broker: Broker;
let publisher: Publisher;
let pool: Pool;
const received: ReceivedEvent[] = [];

beforeAll(async () => {
  [vh, db] = await Promise.all([createTestVhost('fraud'), createTestDatabase('fraud')]);
  // The shipped rules with the thresholds these tests rely on written out, so that
  // retuning rules/default.json does not change what is tested here.
  const shipped = JSON.parse(await readFile(DEFAULT_RULES_FILE, 'utf8')) as Record<string, unknown>;
  dir = await mkdtemp(join(tmpdir(), 'fraud-service-'));
  rulesFile = join(dir, 'rules.json');
  await writeFile(
    rulesFile,
    JSON.stringify({
      ...shipped,
      $schema: undefined,
      version: 'int-test',
      decision: { reviewAt: 30, rejectAt: 60 },
      velocity: {
        email: {
          windowMinutes: 60,
          ignorePlusTag: true,
          tiers: [
            { atLeast: 3, points: 30 },
            { atLeast: 5, points: 60 },
          ],
        },
        phone: { windowMinutes: 60, tiers: [] },
        ip: { windowMinutes: 30, tiers: [] },
      },
      countryMismatch: { points: 15 },
      disposableEmail: { points: 20, domains: ['mailinator.com'] },
    }),
  );

  service = await startFraudService(
    {
      AMQP_URL: vh.url,
      DATABASE_URL: db.url,
      PORT: '0',
      HOST: '127.0.0.1',
      FRAUD_RULES_FILE: rulesFile,
      FRAUD_HISTORY_RETENTION: '3 h',
      RETENTION_INTERVAL: '200',
    },
    { logger: pino({ level: 'silent' }) },
  );
  broker = await Broker.connect({
    url: vh.url,
    connectionName: 'fraud-test',
    topology: {
      exchanges: [EXCHANGES.events],
      queues: [{ name: EVENTS_QUEUE, arguments: {} }],
      bindings: [
        { exchange: EXCHANGES.events.name, queue: EVENTS_QUEUE, routingKey: events.fraudAssessed.routingKey },
      ],
    },
  });
  publisher = new Publisher(broker);
  // The service returns before the broker connection is up; its queue exists once it consumes.
  await waitFor(async () => (await fetch(`http://127.0.0.1:${service.port}/readyz`)).status === 200, {
    timeoutMs: 30_000,
    what: 'fraud service ready',
  });
  pool = createPool({ url: db.url, schema: 'fraud' });
});

afterAll(async () => {
  await service?.stop();
  await publisher?.close();
  await broker?.close();
  await pool?.end();
  await vh?.delete();
  await db?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function drainEvents(): Promise<void> {
  const batch: PeekedMessage[] = await vh.take(EVENTS_QUEUE, 100);
  for (const m of batch) {
    received.push({
      messageId: m.properties.message_id,
      correlationId: m.properties.correlation_id,
      payload: JSON.parse(m.payload) as Assessed,
    });
  }
}

async function eventsFor(orderId: string, count = 1): Promise<ReceivedEvent[]> {
  return waitFor(
    async () => {
      await drainEvents();
      const mine = received.filter((e) => e.payload.orderId === orderId);
      return mine.length >= count ? mine : null;
    },
    { timeoutMs: 30_000, what: `${count} fraud.assessed event(s) for ${orderId}` },
  );
}

/** An order of a customer no other test uses, so velocity from other tests never leaks in. */
function newCustomerOrder(patch: Partial<FraudMessage> = {}): FraudMessage {
  const id = randomUUID();
  return {
    ...exampleMessages.fraud,
    orderId: id,
    customer: {
      ...exampleMessages.fraud.customer,
      email: `ada.${id.slice(0, 8)}@example.com`,
      phone: `+4477009${String(randomInt(100_000)).padStart(5, '0')}`,
    },
    metadata: { ip: `198.51.${randomInt(256)}.${randomInt(256)}` },
    ...patch,
  };
}

function send(order: FraudMessage, messageId = `${order.orderId}:fraud`) {
  return publisher.publish(notifications.fraud, order, { messageId, correlationId: order.orderId });
}

async function rowsFor(orderId: string) {
  const a = await pool.query('SELECT score, decision, history FROM assessments WHERE order_id = $1', [
    orderId,
  ]);
  const o = await pool.query('SELECT count(*)::int AS n FROM observations WHERE order_id = $1', [orderId]);
  return { assessments: a.rows, observations: (o.rows[0] as { n: number }).n };
}

describe('fraud service', () => {
  it('scores with the rules file named in FRAUD_RULES_FILE and shows it on /rules', async () => {
    const r = await fetch(`http://127.0.0.1:${service.port}/rules`);
    expect(await r.json()).toMatchObject({ file: rulesFile, rules: { version: 'int-test' } });
  });

  it('approves the example message, stores the assessment and publishes fraud.assessed', async () => {
    const order = { ...exampleMessages.fraud, orderId: randomUUID() };
    await send(order);
    const [event] = await eventsFor(order.orderId);
    expect(event).toEqual({
      messageId: `${order.orderId}:fraud.assessed`,
      correlationId: order.orderId,
      payload: {
        orderId: order.orderId,
        occurredAt: expect.any(String),
        score: 0,
        decision: 'approve',
        rules: [],
      },
    });
    expect(await rowsFor(order.orderId)).toEqual({
      assessments: [
        { score: 0, decision: 'approve', history: { email: 0, phone: 0, ip: 0, emailLookback: 0 } },
      ],
      observations: 1,
    });
  });

  it('fires the disposable-domain and country-mismatch rules and explains them', async () => {
    const base = newCustomerOrder();
    const order = newCustomerOrder({
      customer: { ...base.customer, email: `someone.${base.orderId.slice(0, 8)}@mailinator.com` },
      billingAddress: { ...base.billingAddress, country: 'DE' },
    });
    await send(order);
    const [event] = await eventsFor(order.orderId);
    expect(event?.payload).toMatchObject({
      score: 35,
      decision: 'review',
      rules: [
        { id: 'country.mismatch', points: 15, detail: 'billing country DE differs from shipping country GB' },
        {
          id: 'email.disposable',
          points: 20,
          detail: 'email domain mailinator.com is a disposable mail provider',
        },
      ],
    });
  });

  it('pushes later orders of the same customer to review and reject, counting each pair once even when processed together', async () => {
    const first = newCustomerOrder();
    const placed = Date.parse(first.placedAt);
    // Five orders a minute apart, published at once: the consumer handles them concurrently.
    const orders = Array.from({ length: 5 }, (_, i) => ({
      ...first,
      orderId: randomUUID(),
      // The plus tag does not make a new customer.
      customer: { ...first.customer, email: first.customer.email.replace('@', `+${i}@`) },
      placedAt: new Date(placed + i * 60_000).toISOString(),
    }));
    await Promise.all(orders.map((o) => send(o)));
    const outcomes = await Promise.all(orders.map(async (o) => (await eventsFor(o.orderId))[0]!.payload));
    const byScore = outcomes.map((e) => [e.score, e.decision]).sort((a, b) => Number(a[0]) - Number(b[0]));
    // The k-th order assessed sees k-1 others: 1st and 2nd approve, 3rd and 4th 30 points, 5th 60.
    expect(byScore).toEqual([
      [0, 'approve'],
      [0, 'approve'],
      [30, 'review'],
      [30, 'review'],
      [60, 'reject'],
    ]);
    const histories = await Promise.all(
      orders.map(async (o) => (await rowsFor(o.orderId)).assessments[0].history.email),
    );
    expect(histories.sort()).toEqual([0, 1, 2, 3, 4]);
    const rejected = outcomes.find((e) => e.decision === 'reject');
    expect(rejected?.rules).toEqual([
      {
        id: 'velocity.email',
        points: 60,
        detail: '5 orders from this email within 60 minutes of this one (itself included; tier 5)',
      },
    ]);
  });

  it('re-publishes the stored assessment on a duplicate delivery and changes nothing else', async () => {
    const order = newCustomerOrder({
      billingAddress: { ...exampleMessages.fraud.billingAddress, country: 'FR' },
    });
    await send(order);
    const [first] = await eventsFor(order.orderId);
    const before = await rowsFor(order.orderId);

    await send(order);
    const both = await eventsFor(order.orderId, 2);
    expect(both).toHaveLength(2);
    expect(both[1]).toEqual(first);
    expect(await rowsFor(order.orderId)).toEqual(before);
    expect(before.observations).toBe(1);

    // The next order of this customer counts the duplicated one once.
    const next = { ...order, orderId: randomUUID() };
    await send(next);
    await eventsFor(next.orderId);
    expect((await rowsFor(next.orderId)).assessments[0].history).toMatchObject({ email: 1, phone: 1, ip: 1 });

    const metrics = await (await fetch(`http://127.0.0.1:${service.port}/metrics`)).text();
    expect(metrics).toMatch(/fraud_assessments_total\{[^}]*decision="review"[^}]*\} [1-9]/);
  });

  it('dead-letters an invalid message before the handler: no assessment, no event', async () => {
    const orderId = randomUUID();
    const invalid = {
      ...exampleMessages.fraud,
      orderId,
      customer: { ...exampleMessages.fraud.customer, email: 'nope' },
    };
    await publisher.publishRaw({
      exchange: notifications.fraud.exchange,
      routingKey: notifications.fraud.routingKey,
      content: Buffer.from(JSON.stringify(invalid)),
      properties: {
        messageId: `${orderId}:fraud`,
        correlationId: orderId,
        type: notifications.fraud.type,
        contentType: 'application/json',
      },
    });
    const dlq = channelConsumers.fraud.deadLetterQueue.name;
    const [dead] = await waitFor(
      async () => {
        const got = await vh.take(dlq, 10);
        return got.length ? got : null;
      },
      { timeoutMs: 30_000, what: 'dead letter' },
    );
    expect(dead?.properties.message_id).toBe(`${orderId}:fraud`);
    expect(dead?.properties.headers?.[HEADERS.deathReason]).toBe('invalid-message');
    expect(String(dead?.properties.headers?.[HEADERS.deathDetail])).toContain('/customer/email');

    // A valid order published after it is assessed; by then the invalid one was long settled.
    const later = newCustomerOrder();
    await send(later);
    await eventsFor(later.orderId);
    await drainEvents();
    expect(received.filter((e) => e.payload.orderId === orderId)).toEqual([]);
    expect(await rowsFor(orderId)).toEqual({ assessments: [], observations: 0 });
  });

  it('refuses to start with an invalid rules file, naming the bad field', async () => {
    const bad = join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify({ version: 'x' }));
    await expect(
      startFraudService(
        { AMQP_URL: vh.url, DATABASE_URL: db.url, PORT: '0', HOST: '127.0.0.1', FRAUD_RULES_FILE: bad },
        { logger: pino({ level: 'silent' }) },
      ),
    ).rejects.toThrow(/fraud rules .*bad\.json are invalid: .*\/decision is required/);
  });

  it('forgets velocity history older than FRAUD_HISTORY_RETENTION and keeps the assessments', async () => {
    const rows = await pool.query<{ order_id: string }>('SELECT order_id FROM observations LIMIT 2');
    expect(rows.rows).toHaveLength(2);
    const [aged, kept] = rows.rows.map((r) => r.order_id);
    await pool.query(`UPDATE observations SET observed_at = now() - interval '4 hours' WHERE order_id = $1`, [
      aged,
    ]);
    await waitFor(
      async () =>
        (await pool.query('SELECT 1 FROM observations WHERE order_id = $1', [aged])).rowCount === 0 ||
        undefined,
      { what: 'the aged observation swept' },
    );
    expect((await pool.query('SELECT 1 FROM observations WHERE order_id = $1', [kept])).rowCount).toBe(1);
    expect((await pool.query('SELECT 1 FROM assessments WHERE order_id = $1', [aged])).rowCount).toBe(1);
  });

  it('refuses a history retention shorter than twice the longest velocity window', async () => {
    await expect(
      startFraudService(
        {
          AMQP_URL: vh.url,
          DATABASE_URL: db.url,
          PORT: '0',
          HOST: '127.0.0.1',
          FRAUD_RULES_FILE: rulesFile,
          FRAUD_HISTORY_RETENTION: '90 min',
        },
        { logger: pino({ level: 'silent' }) },
      ),
    ).rejects.toThrow(/FRAUD_HISTORY_RETENTION.*twice the longest velocity window \(60 min\)/);
  });
});
