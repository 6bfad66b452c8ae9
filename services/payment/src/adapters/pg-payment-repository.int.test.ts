import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createPool, migrate } from '@notify/service-kit';
import type { Pool } from '@notify/service-kit';
import { createTestDatabase } from '@notify/service-kit/testing';
import type { TestDatabase } from '@notify/service-kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AttemptStart, Payment } from '../authorize-payment.js';
import { PgPaymentRepository } from './pg-payment-repository.js';

let db: TestDatabase;
let pool: Pool;

beforeAll(async () => {
  db = await createTestDatabase('payment_repo');
  await migrate({
    url: db.url,
    schema: 'payment',
    dir: fileURLToPath(new URL('../../migrations', import.meta.url)),
  });
  pool = createPool({ url: db.url, schema: 'payment', max: 2 });
});
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

const at = new Date('2026-11-23T09:00:00.000Z');
const start = (orderId: string, messageId: string): AttemptStart => ({
  orderId,
  messageId,
  deliveryAttempt: 1,
  redelivered: false,
  gateway: 'test-gateway',
  startedAt: at,
});
const authorized = (orderId: string, authorizationId: string, attempts: number): Payment => ({
  orderId,
  status: 'authorized',
  authorizationId,
  amount: 3998,
  currency: 'GBP',
  gateway: 'test-gateway',
  attempts,
  messageId: `${orderId}:payment`,
  decidedAt: at,
});

describe('PgPaymentRepository window writes', () => {
  it("numbers a window's attempts after each order's earlier ones and records their ends in one transaction", async () => {
    const repo = new PgPaymentRepository(pool);
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
    await repo.startAttempt(start(a, 'a0'));
    const refs = await repo.startAttempts([start(a, 'a1'), start(b, 'b1'), start(a, 'a2'), start(c, 'c1')]);
    expect(refs.map((r) => r.attemptNo)).toEqual([2, 1, 3, 1]);
    expect(new Set(refs.map((r) => r.id)).size).toBe(4);

    const results = await repo.finishAll([
      { attempt: refs[0]!, payment: authorized(a, 'auth_a1', 2), latencyMs: 5 },
      { attempt: refs[1]!, failure: { error: '503', transient: true, latencyMs: 7, finishedAt: at } },
      { attempt: refs[2]!, payment: authorized(a, 'auth_a2', 3), latencyMs: 6 },
      { attempt: refs[3]!, payment: { ...authorized(c.toUpperCase(), 'auth_c1', 1) }, latencyMs: 4 },
    ]);
    expect(results.map((p) => p && p.status === 'authorized' && p.authorizationId)).toEqual([
      'auth_a1',
      undefined,
      'auth_a1',
      'auth_c1',
    ]);
    const rows = await pool.query(
      `SELECT order_id::text, attempt_no, outcome, error, latency_ms FROM attempts
       WHERE order_id = ANY($1::uuid[]) ORDER BY order_id, attempt_no`,
      [[a, b]],
    );
    const byOrder = (id: string) => rows.rows.filter((r: { order_id: string }) => r.order_id === id);
    expect(byOrder(a).map((r: { outcome: string }) => r.outcome)).toEqual([
      'pending',
      'authorized',
      'authorized',
    ]);
    expect(byOrder(b)).toEqual([
      { order_id: b, attempt_no: 1, outcome: 'error', error: '503', latency_ms: 7 },
    ]);
    expect([...(await repo.findByOrderIds([a, b, c])).keys()].sort()).toEqual([a, c].sort());
  });
});
