import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createPool, migrate } from '@notify/service-kit';
import type { Pool } from '@notify/service-kit';
import { createTestDatabase } from '@notify/service-kit/testing';
import type { TestDatabase } from '@notify/service-kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Shipment } from '../create-shipment.js';
import { PgShipmentRepository } from './pg-shipment-repository.js';

let db: TestDatabase;
let pool: Pool;

beforeAll(async () => {
  db = await createTestDatabase('logistic_repo');
  await migrate({
    url: db.url,
    schema: 'logistic',
    dir: fileURLToPath(new URL('../../migrations', import.meta.url)),
  });
  pool = createPool({ url: db.url, schema: 'logistic', max: 2 });
});
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

function shipment(orderId: string, trackingNumber: string): Shipment {
  return {
    id: randomUUID(),
    orderId,
    carrierId: 'national-post',
    carrierName: 'National Post',
    serviceLevel: 'standard',
    zone: 'domestic',
    destinationCountry: 'GB',
    totalWeightGrams: 900,
    trackingNumber,
    estimatedDelivery: '2026-11-25',
    createdAt: new Date('2026-11-23T09:00:00.000Z'),
  };
}

describe('PgShipmentRepository window writes', () => {
  it('stores a window in one transaction; an order shipped before, or twice in the window, keeps its first shipment', async () => {
    const repo = new PgShipmentRepository(pool);
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
    const earlier = await repo.create(shipment(b, 'T-B0'), { messageId: 'b0' });
    const serials = await repo.nextTrackingSerials(3);
    expect(new Set(serials).size).toBe(3);

    const items = [
      { shipment: shipment(a, 'T-A1'), inbox: { messageId: 'a1' } },
      { shipment: shipment(b, 'T-B1'), inbox: { messageId: 'b1' } },
      { shipment: shipment(c.toUpperCase(), 'T-C1'), inbox: { messageId: 'c1' } },
      { shipment: shipment(a, 'T-A2'), inbox: { messageId: 'a2' } },
    ];
    const results = await repo.createAll(items);
    expect(results.map((r) => [r.created, r.shipment.trackingNumber])).toEqual([
      [true, 'T-A1'],
      [false, earlier.shipment.trackingNumber],
      [true, 'T-C1'],
      [false, 'T-A1'],
    ]);
    const found = await repo.findByOrderIds([a, b, c.toUpperCase()]);
    expect([...found.keys()]).toEqual(expect.arrayContaining([a, b, c.toUpperCase()]));
    expect(found.get(a)?.trackingNumber).toBe('T-A1');
    const inbox = await pool.query('SELECT message_id FROM inbox ORDER BY message_id');
    expect(inbox.rows.map((r: { message_id: string }) => r.message_id)).toEqual(['a1', 'b0', 'c1']);
  });

  it('stores nothing of a window when one row fails', async () => {
    const repo = new PgShipmentRepository(pool);
    const ok = randomUUID();
    const dup = shipment(randomUUID(), 'T-SAME');
    await expect(
      repo.createAll([
        { shipment: shipment(ok, 'T-OK'), inbox: { messageId: 'ok' } },
        { shipment: dup, inbox: { messageId: 'x1' } },
        { shipment: { ...shipment(randomUUID(), 'T-SAME') }, inbox: { messageId: 'x2' } },
      ]),
    ).rejects.toThrow(/tracking_number/);
    expect((await repo.findByOrderIds([ok])).size).toBe(0);
  });
});
