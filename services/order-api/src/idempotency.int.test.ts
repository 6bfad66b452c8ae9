import { CHANNELS } from '@notify/contracts';
import { createTestVhost, waitFor } from '@notify/messaging/testing';
import type { TestVhost } from '@notify/messaging/testing';
import { RetentionSweeper } from '@notify/service-kit';
import { createTestDatabase } from '@notify/service-kit/testing';
import type { TestDatabase } from '@notify/service-kit/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PROBLEM_TYPES } from './http/problem.js';
import { orderApiRetentionRules } from './retention-rules.js';
import type { RunningOrderApi } from './server.js';
import { validOrder } from './test-support/order-fixtures.js';
import { rowCounts, startTestApi, unpublished } from './test-support/test-api.js';

let vh: TestVhost;
let db: TestDatabase;
let api: RunningOrderApi;

beforeAll(async () => {
  [vh, db] = await Promise.all([createTestVhost('order-idem'), createTestDatabase('order_idem')]);
  api = await startTestApi({ AMQP_URL: vh.url, DATABASE_URL: db.url });
  await api.broker.waitUntilConnected();
});
afterAll(async () => {
  await api?.stop();
  await vh?.delete();
  await db?.drop();
});
beforeEach(async () => {
  await waitFor(async () => (await unpublished(api.pool)) === 0, { what: 'outbox drained' });
  for (const c of CHANNELS) await vh.take(c, 1000);
  await api.pool.query('TRUNCATE orders, idempotency_keys, outbox, notification_states');
});

function post(body: unknown, key?: string) {
  return fetch(`${api.url}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** Message ids found in the five queues once the outbox is drained. */
async function publishedIds(): Promise<string[]> {
  await waitFor(async () => (await unpublished(api.pool)) === 0, { what: 'outbox drained' });
  const ids: string[] = [];
  for (const c of CHANNELS) {
    for (const m of await vh.take(c, 1000)) ids.push(String(m.properties.message_id));
  }
  return ids.sort();
}

describe('Idempotency-Key', () => {
  it('a retry with the same key and body returns the original answer and creates nothing new', async () => {
    const key = 'order-2026-11-23-0001';
    const first = await post(validOrder(), key);
    expect(first.status).toBe(201);
    const original = (await first.json()) as { id: string };

    // The same body with its keys in another order and other whitespace is the same request.
    const reordered = JSON.stringify(Object.fromEntries(Object.entries(validOrder()).reverse()), null, 2);
    for (const body of [validOrder(), reordered]) {
      const again = await post(body, key);
      expect(again.status).toBe(201);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(again.headers.get('location')).toBe(`/orders/${original.id}`);
      expect(await again.json()).toEqual(original);
    }

    expect(await rowCounts(api.pool)).toEqual({ orders: 1, outbox: 5, states: 5, keys: 1 });
    expect(await publishedIds()).toEqual(CHANNELS.map((c) => `${original.id}:${c}`).sort());
  });

  it('the same key with a different body is refused with 422 and stores nothing', async () => {
    const key = 'order-2026-11-23-0002';
    expect((await post(validOrder(), key)).status).toBe(201);
    const changed = validOrder();
    changed.items[0]!.quantity = 3;
    const res = await post(changed, key);
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await res.json()).toMatchObject({
      type: PROBLEM_TYPES.idempotencyKeyReused,
      status: 422,
      errors: [{ field: 'header:idempotency-key' }],
    });
    expect(await rowCounts(api.pool)).toEqual({ orders: 1, outbox: 5, states: 5, keys: 1 });
  });

  it('concurrent requests with the same key create exactly one order', async () => {
    const key = 'order-2026-11-23-0003';
    const responses = await Promise.all(Array.from({ length: 16 }, () => post(validOrder(), key)));
    const bodies = (await Promise.all(responses.map((r) => r.json()))) as { id: string }[];
    expect(responses.map((r) => r.status)).toEqual(Array(16).fill(201));
    expect(new Set(bodies.map((b) => b.id)).size).toBe(1);
    expect(responses.filter((r) => r.headers.get('idempotent-replayed') === 'true')).toHaveLength(15);
    expect(await rowCounts(api.pool)).toEqual({ orders: 1, outbox: 5, states: 5, keys: 1 });
    expect(await publishedIds()).toEqual(CHANNELS.map((c) => `${bodies[0]?.id}:${c}`).sort());
  });

  it('concurrent requests with the same key but different bodies: one order, the others refused', async () => {
    const key = 'order-2026-11-23-0004';
    const responses = await Promise.all(
      Array.from({ length: 8 }, (_, i) => {
        const o = validOrder();
        o.items[0]!.quantity = i + 1;
        return post(o, key);
      }),
    );
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 422, 422, 422, 422, 422, 422, 422]);
    expect(await rowCounts(api.pool)).toEqual({ orders: 1, outbox: 5, states: 5, keys: 1 });
  });

  it('requests without a key are separate orders', async () => {
    expect((await post(validOrder())).status).toBe(201);
    expect((await post(validOrder())).status).toBe(201);
    expect(await rowCounts(api.pool)).toEqual({ orders: 2, outbox: 10, states: 10, keys: 0 });
  });

  it('a request refused as invalid does not use up its key', async () => {
    const key = 'order-2026-11-23-0005';
    const bad = validOrder();
    bad.customer.email = 'nope';
    expect((await post(bad, key)).status).toBe(400);
    const good = await post(validOrder(), key);
    expect(good.status).toBe(201);
    expect(good.headers.get('idempotent-replayed')).toBeNull();
  });
});

describe('retention', () => {
  it('removes keys past their TTL and old published outbox rows, keeps orders, recent and unpublished rows', async () => {
    const key = 'order-2026-11-23-0006';
    const old = (await (await post(validOrder(), key)).json()) as { id: string };
    const recent = (await (await post(validOrder(), 'order-2026-11-23-0007')).json()) as { id: string };
    await waitFor(async () => (await unpublished(api.pool)) === 0, { what: 'outbox drained' });
    // Age the first order: its key past the TTL, its outbox rows past the retention; one
    // of them as if it had never been published (held back from the relay for now).
    await api.pool.query(
      `UPDATE idempotency_keys SET created_at = now() - interval '2 days' WHERE key = $1`,
      [key],
    );
    await api.pool.query(`UPDATE outbox SET created_at = now() - interval '8 days' WHERE order_id = $1`, [
      old.id,
    ]);
    await api.pool.query(
      `UPDATE outbox SET published_at = NULL, next_attempt_at = now() + interval '1 hour'
        WHERE order_id = $1 AND channel = 'email'`,
      [old.id],
    );

    const deleted = await new RetentionSweeper({
      pool: api.pool,
      rules: orderApiRetentionRules(api.config),
      intervalMs: 60_000,
    }).sweep();
    expect(deleted).toEqual({ idempotency_keys: 1, outbox_published: 4 });

    const left = await api.pool.query<{ order_id: string; channel: string }>(
      'SELECT order_id, channel FROM outbox ORDER BY id',
    );
    expect(left.rows.filter((r) => r.order_id === old.id).map((r) => r.channel)).toEqual(['email']);
    expect(left.rows.filter((r) => r.order_id === recent.id)).toHaveLength(5);
    expect((await fetch(`${api.url}/orders/${old.id}`)).status).toBe(200);
    // The key is free again: the same key now places a new order.
    const again = await post(validOrder(), key);
    expect(again.status).toBe(201);
    expect(((await again.json()) as { id: string }).id).not.toBe(old.id);

    await api.pool.query(`UPDATE outbox SET next_attempt_at = now() WHERE order_id = $1`, [old.id]);
  });

  it('runs on its own in the API, on the configured interval', async () => {
    const other = await startTestApi({
      AMQP_URL: vh.url,
      DATABASE_URL: db.url,
      RELAY_ENABLED: 'false',
      STATUS_CONSUMER_ENABLED: 'false',
      IDEMPOTENCY_KEY_TTL: '1 h',
      RETENTION_INTERVAL: '200',
    });
    try {
      const key = 'order-2026-11-23-0008';
      expect((await post(validOrder(), key)).status).toBe(201);
      await api.pool.query(
        `UPDATE idempotency_keys SET created_at = now() - interval '2 hours' WHERE key = $1`,
        [key],
      );
      await waitFor(
        async () =>
          (await api.pool.query('SELECT 1 FROM idempotency_keys WHERE key = $1', [key])).rowCount === 0 ||
          undefined,
        { what: 'the key swept by the second process' },
      );
    } finally {
      await other.stop();
    }
  });
});
