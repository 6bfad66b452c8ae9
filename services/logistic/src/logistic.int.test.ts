import { randomUUID } from 'node:crypto';
import { exampleMessages, HEADERS, notifications } from '@notify/contracts';
import type { LogisticMessage } from '@notify/contracts';
import { createTestVhost, waitFor } from '@notify/messaging/testing';
import type { TestVhost } from '@notify/messaging/testing';
import { createTestDatabase, tapOrderEvents } from '@notify/service-kit/testing';
import type { OrderEventsTap, TestDatabase } from '@notify/service-kit/testing';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLogisticService } from './service.js';
import { isValidTrackingNumber } from './tracking-number.js';

const ORDER_TIME = new Date('2026-11-23T09:00:00.000Z'); // a Monday morning

let vh: TestVhost;
let db: TestDatabase;
let service: Awaited<ReturnType<typeof startLogisticService>>;
let tap: OrderEventsTap;
let sql: pg.Pool;

beforeAll(async () => {
  [vh, db] = await Promise.all([createTestVhost('logistic'), createTestDatabase('logistic')]);
  service = await startLogisticService(
    { AMQP_URL: vh.url, DATABASE_URL: db.url, PORT: '0', HOST: '127.0.0.1', NODE_ENV: 'test' },
    { logger: pino({ level: 'silent' }), now: () => ORDER_TIME },
  );
  // The service connects in the background; its queue exists once it reports ready.
  await waitFor(async () => (await fetch(`http://127.0.0.1:${service.port}/readyz`)).status === 200, {
    what: 'logistic service ready',
  });
  tap = await tapOrderEvents(vh, 'logistic-test');
  sql = new pg.Pool({ connectionString: db.url, options: '-c search_path=logistic' });
});

afterAll(async () => {
  await service?.stop();
  await tap?.close();
  await sql?.end();
  await vh?.delete();
  await db?.drop();
});

function order(orderId: string, patch: Partial<LogisticMessage> = {}): LogisticMessage {
  return { ...structuredClone(exampleMessages.logistic), orderId, ...patch };
}

async function send(message: LogisticMessage, messageId = `${message.orderId}:logistic`) {
  await tap.publisher.publish(notifications.logistic, message, { messageId, correlationId: message.orderId });
}

const eventsFor = (orderId: string, routingKey: string, count?: number) =>
  tap.eventsFor(orderId, routingKey, count);

async function settled() {
  await waitFor(async () => (await vh.queue('logistic'))?.messages === 0 && service.inFlight() === 0, {
    what: 'logistic queue drained',
  });
}

describe('logistic service', () => {
  it('creates a shipment for a domestic order and announces it on order.events', async () => {
    const orderId = randomUUID();
    await send(order(orderId));
    const [event] = await eventsFor(orderId, 'shipment.created');
    const body = JSON.parse(event!.payload);
    expect(event!.properties.message_id).toBe(`${orderId}:shipment.created`);
    expect(event!.properties.correlation_id).toBe(orderId);
    expect(event!.properties.type).toBe('event.shipment.created.v1');
    expect(body).toMatchObject({
      orderId,
      occurredAt: ORDER_TIME.toISOString(),
      carrier: 'National Post',
      serviceLevel: 'standard',
      totalWeightGrams: 900,
      estimatedDelivery: '2026-11-25',
    });
    expect(body.trackingNumber).toMatch(/^RR\d{9}GB$/);
    expect(isValidTrackingNumber(body.trackingNumber)).toBe(true);

    const { rows } = await sql.query('SELECT * FROM shipments WHERE order_id = $1', [orderId]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      id: body.shipmentId,
      carrier_id: 'national-post',
      zone: 'domestic',
      destination_country: 'GB',
      tracking_number: body.trackingNumber,
    });
    const inbox = await sql.query('SELECT message_id FROM inbox WHERE order_id = $1', [orderId]);
    expect(inbox.rows).toEqual([{ message_id: `${orderId}:logistic` }]);
  });

  it('picks the courier and express service for a heavy order to Europe', async () => {
    const orderId = randomUUID();
    await send(
      order(orderId, {
        items: [{ sku: 'KETTLEBELL-12', name: 'Kettlebell 12 kg', quantity: 1, weightGrams: 12_000 }],
        shippingAddress: { ...exampleMessages.logistic.shippingAddress, country: 'DE', postalCode: '10115' },
      }),
    );
    const [event] = await eventsFor(orderId, 'shipment.created');
    const body = JSON.parse(event!.payload);
    expect(body).toMatchObject({
      carrier: 'Express Courier',
      serviceLevel: 'express',
      totalWeightGrams: 12_000,
      estimatedDelivery: '2026-11-25',
    });
    expect(body.trackingNumber).toMatch(/^EXC\d{12}$/);
    expect(isValidTrackingNumber(body.trackingNumber)).toBe(true);
  });

  it('a duplicate delivery re-publishes the same shipment.created and creates nothing', async () => {
    const orderId = randomUUID();
    await send(order(orderId));
    const [first] = await eventsFor(orderId, 'shipment.created');
    await settled();
    const serialBefore = (await sql.query(`SELECT last_value FROM tracking_serial`)).rows[0].last_value;

    // The same message again, and the same order under another message id (a re-sent order).
    await send(order(orderId));
    await send(order(orderId), `${orderId}:logistic:resent`);
    const all = await eventsFor(orderId, 'shipment.created', 3);
    expect(all).toHaveLength(3);
    for (const e of all) {
      expect(e.properties.message_id).toBe(`${orderId}:shipment.created`);
      expect(JSON.parse(e.payload)).toEqual(JSON.parse(first!.payload));
    }
    await settled();
    expect(
      (await sql.query('SELECT count(*)::int AS n FROM shipments WHERE order_id = $1', [orderId])).rows,
    ).toEqual([{ n: 1 }]);
    expect((await sql.query('SELECT message_id FROM inbox WHERE order_id = $1', [orderId])).rows).toEqual([
      { message_id: `${orderId}:logistic` },
    ]);
    expect((await sql.query(`SELECT last_value FROM tracking_serial`)).rows[0].last_value).toBe(serialBefore);
    expect(await vh.queue('logistic.dlq')).toMatchObject({ messages: 0 });
  });

  it('rejects an order to a country it does not serve: shipment.rejected, dead letter, no shipment', async () => {
    const orderId = randomUUID();
    await send(
      order(orderId, {
        shippingAddress: {
          ...exampleMessages.logistic.shippingAddress,
          country: 'BR',
          postalCode: '01310-100',
        },
      }),
    );
    const [rejected] = await eventsFor(orderId, 'shipment.rejected');
    expect(rejected!.properties.message_id).toBe(`${orderId}:shipment.rejected`);
    expect(JSON.parse(rejected!.payload)).toMatchObject({ orderId, reason: 'we do not ship to BR' });

    const dead = await waitFor(
      async () => (await vh.take('logistic.dlq', 10)).find((m) => JSON.parse(m.payload).orderId === orderId),
      { what: 'dead letter' },
    );
    expect(dead.properties.headers?.[HEADERS.deathReason]).toBe('permanent-failure');
    expect(dead.properties.headers?.[HEADERS.deathDetail]).toBe(
      'order cannot be shipped: we do not ship to BR | unsupported-country',
    );
    const [lifecycle] = await eventsFor(orderId, 'logistic.dead_lettered');
    expect(JSON.parse(lifecycle!.payload)).toMatchObject({ orderId, channel: 'logistic', attempts: 1 });

    expect(
      (await sql.query('SELECT count(*)::int AS n FROM shipments WHERE order_id = $1', [orderId])).rows,
    ).toEqual([{ n: 0 }]);
    expect(
      (await sql.query('SELECT code, reason FROM shipment_rejections WHERE order_id = $1', [orderId])).rows,
    ).toEqual([{ code: 'unsupported-country', reason: 'we do not ship to BR' }]);
  });

  it('a burst of orders settles together: each ships once, the unshippable one alone is dead-lettered', async () => {
    const ids = Array.from({ length: 12 }, () => randomUUID());
    const unshippable = ids[5]!;
    const messages = ids.map((id) =>
      id === unshippable
        ? order(id, { shippingAddress: { ...exampleMessages.logistic.shippingAddress, country: 'BR' } })
        : order(id),
    );
    // Published at once (and one order twice), so they reach the consumer in windows.
    await Promise.all([...messages.map((m) => send(m)), send(messages[0]!, `${ids[0]}:logistic:resent`)]);
    const shipped = ids.filter((id) => id !== unshippable);
    for (const id of shipped) await eventsFor(id, 'shipment.created');
    await eventsFor(ids[0]!, 'shipment.created', 2);
    await eventsFor(unshippable, 'shipment.rejected');
    await settled();
    const { rows } = await sql.query<{ order_id: string; n: number }>(
      'SELECT order_id::text, count(*)::int AS n FROM shipments WHERE order_id = ANY($1::uuid[]) GROUP BY order_id',
      [ids],
    );
    expect(Object.fromEntries(rows.map((r) => [r.order_id, r.n]))).toEqual(
      Object.fromEntries(shipped.map((id) => [id, 1])),
    );
    const inbox = await sql.query('SELECT count(*)::int AS n FROM inbox WHERE order_id = ANY($1::uuid[])', [
      ids,
    ]);
    expect(inbox.rows).toEqual([{ n: shipped.length }]);
    const dead = await waitFor(
      async () =>
        (await vh.take('logistic.dlq', 10)).find((m) => JSON.parse(m.payload).orderId === unshippable),
      { what: 'dead letter' },
    );
    expect(dead.properties.headers?.[HEADERS.deathReason]).toBe('permanent-failure');
    expect(await vh.queue('logistic.dlq')).toMatchObject({ messages: 0 });
  });

  it('rejects an order over the weight limit with the weight and the limit in the reason', async () => {
    const orderId = randomUUID();
    await send(
      order(orderId, { items: [{ sku: 'ANVIL-50', name: 'Anvil', quantity: 2, weightGrams: 25_000 }] }),
    );
    const [rejected] = await eventsFor(orderId, 'shipment.rejected');
    expect(JSON.parse(rejected!.payload).reason).toBe(
      'total weight 50000 g exceeds the limit of 30000 g per shipment',
    );
    const dead = await waitFor(
      async () => (await vh.take('logistic.dlq', 10)).find((m) => JSON.parse(m.payload).orderId === orderId),
      { what: 'dead letter' },
    );
    expect(String(dead.properties.headers?.[HEADERS.deathDetail])).toContain('| overweight');
    expect(
      (await sql.query('SELECT count(*)::int AS n FROM shipments WHERE order_id = $1', [orderId])).rows,
    ).toEqual([{ n: 0 }]);
  });

  it('reports ready with broker, consumer and database up', async () => {
    const r = await fetch(`http://127.0.0.1:${service.port}/readyz`);
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ checks: { broker: true, consumer: true, database: true } });
  });
});
