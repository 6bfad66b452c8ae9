import { createPool, migrate } from '@notify/service-kit';
import type { Pool } from '@notify/service-kit';
import { createTestDatabase } from '@notify/service-kit/testing';
import type { TestDatabase } from '@notify/service-kit/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createOrder, IdempotencyConflictError } from '../domain/create-order.js';
import type { CreateOrderContext } from '../domain/create-order.js';
import { MIGRATIONS_DIR } from '../server.js';
import { validOrder } from '../test-support/order-fixtures.js';
import { rowCounts } from '../test-support/test-api.js';
import { OrderRepository } from './order-repository.js';

let db: TestDatabase;
let pool: Pool;
let statements: number;

beforeAll(async () => {
  db = await createTestDatabase('order_repo');
  await migrate({ url: db.url, schema: 'order_api', dir: MIGRATIONS_DIR });
  pool = createPool({ url: db.url, schema: 'order_api', max: 4 });
  // Count the insert statements the repository sends.
  const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<unknown>;
  (pool as unknown as { query: unknown }).query = (...args: unknown[]) => {
    if ((args[0] as { name?: string })?.name === 'order-api-insert-orders') statements++;
    return query(...args);
  };
});
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});
beforeEach(async () => {
  statements = 0;
  await pool.query('TRUNCATE orders, idempotency_keys, outbox, notification_states');
});

const ctx = (extra: Partial<CreateOrderContext> = {}): CreateOrderContext => ({
  idempotency: null,
  requestMetadata: {},
  ...extra,
});

describe('OrderRepository writes', () => {
  it('orders that arrive while a write is in flight share the next statement, each with its own outcome', async () => {
    let committed = 0;
    const repo = new OrderRepository(pool, { maxConcurrentWrites: 1, onCommitted: () => committed++ });
    const results = await Promise.all(
      Array.from({ length: 10 }, () => createOrder(repo, validOrder(), ctx())),
    );
    expect(new Set(results.map((r) => r.body.id)).size).toBe(10);
    expect(results.every((r) => r.statusCode === 201 && !r.replayed)).toBe(true);
    // The first order is written at once, the nine that queued behind it together.
    expect(statements).toBe(2);
    expect(committed).toBe(2);
    expect(await rowCounts(pool)).toEqual({ orders: 10, outbox: 50, states: 50, keys: 0 });
  });

  it('a key repeated within one batch stores one order; the repeats replay it or are refused', async () => {
    const repo = new OrderRepository(pool, { maxConcurrentWrites: 1 });
    const claim = (requestHash: string) => ({ client: 'anonymous', key: 'batch-key-0001', requestHash });
    const changed = validOrder();
    changed.items[0]!.quantity = 5;
    const [, first, same, different] = await Promise.allSettled([
      createOrder(repo, validOrder(), ctx()),
      createOrder(repo, validOrder(), ctx({ idempotency: claim('h1') })),
      createOrder(repo, validOrder(), ctx({ idempotency: claim('h1') })),
      createOrder(repo, changed, ctx({ idempotency: claim('h2') })),
    ]);
    expect(statements).toBe(2);
    expect(first).toMatchObject({ status: 'fulfilled', value: { replayed: false } });
    expect(same).toMatchObject({ status: 'fulfilled', value: { replayed: true } });
    if (first.status === 'fulfilled' && same.status === 'fulfilled') {
      expect(same.value.body).toEqual(first.value.body);
    }
    expect(different.status === 'rejected' && different.reason).toBeInstanceOf(IdempotencyConflictError);
    expect(await rowCounts(pool)).toEqual({ orders: 2, outbox: 10, states: 10, keys: 1 });
  });

  it('a reference clash spoils nothing else in its batch, and the clashing order gets a new id', async () => {
    const repo = new OrderRepository(pool, { maxConcurrentWrites: 1 });
    // Same first twelve hex digits, so the same ORD- reference.
    const taken = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
    const clash = 'aaaaaaaa-aaaa-4bbb-8bbb-bbbbbbbbbbbb';
    const fresh = 'cccccccc-cccc-4ccc-8ccc-cccccccccccc';
    const ids =
      (...list: string[]) =>
      () =>
        list.shift() ?? 'exhausted';
    const results = await Promise.all([
      createOrder(repo, validOrder(), ctx({ newId: ids(taken) })),
      createOrder(repo, validOrder(), ctx({ newId: ids(clash, fresh) })),
      createOrder(repo, validOrder(), ctx()),
      createOrder(repo, validOrder(), ctx()),
    ]);
    expect(results.map((r) => r.statusCode)).toEqual([201, 201, 201, 201]);
    expect(results[0]?.body.id).toBe(taken);
    expect(results[1]?.body.id).toBe(fresh);
    expect(await rowCounts(pool)).toEqual({ orders: 4, outbox: 20, states: 20, keys: 0 });
  });

  it('an order the database refuses fails alone; the orders grouped with it are stored', async () => {
    const repo = new OrderRepository(pool, { maxConcurrentWrites: 1 });
    // Past the HTTP edge's check (which refuses it first): jsonb cannot hold NUL or a lone surrogate.
    const nul = validOrder();
    nul.customer.name = 'Ada\u0000Lovelace';
    const surrogate = validOrder();
    surrogate.shippingAddress.line1 = 'Square \ud800';
    const results = await Promise.allSettled([
      createOrder(repo, validOrder(), ctx()),
      ...Array.from({ length: 20 }, (_, i) =>
        createOrder(repo, i === 5 ? nul : i === 12 ? surrogate : validOrder(), ctx()),
      ),
    ]);
    const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [i] : []));
    expect(failed).toEqual([6, 13]);
    expect(await rowCounts(pool)).toEqual({ orders: 19, outbox: 95, states: 95, keys: 0 });
  });
});
