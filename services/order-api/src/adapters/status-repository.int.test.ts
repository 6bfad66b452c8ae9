import { randomUUID } from 'node:crypto';
import { createPool, migrate } from '@notify/service-kit';
import type { Pool } from '@notify/service-kit';
import { createTestDatabase } from '@notify/service-kit/testing';
import type { TestDatabase } from '@notify/service-kit/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createOrder } from '../domain/create-order.js';
import { MIGRATIONS_DIR } from '../server.js';
import type { ChannelUpdate } from '../status/outcome-events.js';
import { validOrder } from '../test-support/order-fixtures.js';
import { OrderRepository } from './order-repository.js';
import { StatusRepository } from './status-repository.js';

let db: TestDatabase;
let pool: Pool;

beforeAll(async () => {
  db = await createTestDatabase('status_repo');
  await migrate({ url: db.url, schema: 'order_api', dir: MIGRATIONS_DIR });
  pool = createPool({ url: db.url, schema: 'order_api', max: 4 });
});
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});
beforeEach(async () => {
  await pool.query('TRUNCATE orders, idempotency_keys, outbox, notification_states');
});

async function newOrder(): Promise<string> {
  const repo = new OrderRepository(pool, { maxConcurrentWrites: 1 });
  const created = await createOrder(repo, validOrder(), { idempotency: null, requestMetadata: {} });
  return created.body.id;
}

async function states(orderIds: readonly string[]) {
  const { rows } = await pool.query(
    `SELECT order_id::text, channel, state, attempts, details FROM notification_states
     WHERE order_id = ANY($1::uuid[]) ORDER BY order_id, channel`,
    [orderIds],
  );
  return rows;
}

/** Late, repeated and interleaved events of two orders, and one for an order nobody knows. */
function window(a: string, b: string): ChannelUpdate[] {
  const at = (s: number) => new Date(Date.UTC(2026, 11, 4, 10, 0, s)).toISOString();
  const retrying = (attempt: number, s: number): ChannelUpdate => ({
    orderId: a,
    channel: 'email',
    event: { kind: 'retrying', occurredAt: at(s), attempt, delayMs: 1000, reason: 'smtp 451' },
  });
  return [
    retrying(1, 1),
    { orderId: b, channel: 'fraud', event: { kind: 'succeeded', occurredAt: at(2), details: { score: 3 } } },
    {
      orderId: a,
      channel: 'email',
      event: { kind: 'succeeded', occurredAt: at(3), details: { smtp: 'ok' } },
    },
    retrying(2, 4),
    { orderId: randomUUID(), channel: 'payment', event: { kind: 'failed', occurredAt: at(5), details: {} } },
    { orderId: b, channel: 'fraud', event: { kind: 'succeeded', occurredAt: at(2), details: { score: 3 } } },
  ];
}

describe('StatusRepository.applyAll', () => {
  it('folds a window of events exactly as applying them one by one does, in one transaction', async () => {
    const repo = new StatusRepository(pool);
    const [a1, b1, a2, b2] = [await newOrder(), await newOrder(), await newOrder(), await newOrder()];
    const oneByOne = [];
    for (const u of window(a1, b1)) oneByOne.push(await repo.apply(u));
    const together = await repo.applyAll(window(a2, b2));

    expect(together).toEqual(oneByOne);
    expect(together).toEqual(['applied', 'applied', 'applied', 'applied', 'unknown-order', 'unchanged']);
    // Rows named a/b instead of their random ids, in the order of those names (the ids of
    // the two pairs need not sort alike).
    const strip = (rows: Awaited<ReturnType<typeof states>>, ids: Record<string, string>) =>
      rows
        .map((r) => ({ ...r, order_id: ids[r.order_id as string] }))
        .sort((x, y) => `${x.order_id}/${x.channel}`.localeCompare(`${y.order_id}/${y.channel}`));
    expect(strip(await states([a2, b2]), { [a2]: 'a', [b2]: 'b' })).toEqual(
      strip(await states([a1, b1]), { [a1]: 'a', [b1]: 'b' }),
    );
  });

  it('changes nothing when one statement of the window fails', async () => {
    const repo = new StatusRepository(pool);
    const a = await newOrder();
    const before = await states([a]);
    const bad = {
      orderId: 'not-a-uuid',
      channel: 'email',
      event: { kind: 'failed', occurredAt: 'x', details: {} },
    };
    await expect(repo.applyAll([...window(a, a), bad as ChannelUpdate])).rejects.toThrow();
    expect(await states([a])).toEqual(before);
  });
});
