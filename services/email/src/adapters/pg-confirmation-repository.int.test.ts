import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createPool, migrate } from '@notify/service-kit';
import type { Pool } from '@notify/service-kit';
import { createTestDatabase } from '@notify/service-kit/testing';
import type { TestDatabase } from '@notify/service-kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClaimRequest } from '../send-order-confirmation.js';
import { PgConfirmationRepository } from './pg-confirmation-repository.js';

let db: TestDatabase;
let pool: Pool;

beforeAll(async () => {
  db = await createTestDatabase('email_repo');
  await migrate({
    url: db.url,
    schema: 'email',
    dir: fileURLToPath(new URL('../../migrations', import.meta.url)),
  });
  pool = createPool({ url: db.url, schema: 'email', max: 2 });
});
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

const request = (orderId: string, messageId: string, leaseMs = 60_000): ClaimRequest => ({
  orderId,
  deliveryMessageId: messageId,
  recipient: 'ada@example.com',
  locale: 'en-GB',
  smtpMessageId: `<${messageId}@example.com>`,
  leaseMs,
});

describe('PgConfirmationRepository.claimAll', () => {
  it('claims a window in one transaction with the same answers one claim at a time would give', async () => {
    const repo = new PgConfirmationRepository(pool);
    const [fresh, sent, live, released, twice] = [
      randomUUID(),
      randomUUID(),
      randomUUID(),
      randomUUID(),
      randomUUID(),
    ];
    const s = await repo.claim(request(sent, 's0'));
    expect(s.kind).toBe('claimed');
    await repo.markSent(sent, { smtpResponse: '250 OK', sentAt: new Date() });
    await repo.claim(request(live, 'l0'));
    const r = await repo.claim(request(released, 'r0'));
    if (r.kind !== 'claimed') throw new Error('expected a claim');
    await repo.release(released, r.token, { reason: '451 try later' });

    const results = await repo.claimAll([
      request(fresh, 'f1'),
      request(sent, 's1'),
      request(live.toUpperCase(), 'l1'),
      request(released, 'r1'),
      request(twice, 't1'),
      request(twice, 't2'),
    ]);
    expect(results.map((x) => x.kind)).toEqual(['claimed', 'sent', 'busy', 'claimed', 'claimed', 'busy']);
    expect(results[0]).toMatchObject({ previous: null });
    expect(results[3]).toMatchObject({ previous: 'deferred' });
    const rows = await pool.query(
      `SELECT order_id::text, status, delivery_message_id, attempts FROM order_confirmations
        WHERE order_id = ANY($1::uuid[]) ORDER BY delivery_message_id`,
      [[fresh, released, twice]],
    );
    expect(
      rows.rows.map((x: { delivery_message_id: string; status: string; attempts: number }) => [
        x.delivery_message_id,
        x.status,
        x.attempts,
      ]),
    ).toEqual([
      ['f1', 'sending', 1],
      ['r1', 'sending', 2],
      ['t1', 'sending', 1],
    ]);
  });
});
