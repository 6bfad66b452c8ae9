import { createTestVhost } from '@notify/messaging/testing';
import type { TestVhost } from '@notify/messaging/testing';
import { createTestDatabase } from '@notify/service-kit/testing';
import type { TestDatabase } from '@notify/service-kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningOrderApi } from './server.js';
import { validOrder } from './test-support/order-fixtures.js';
import { rowCounts, startTestApi } from './test-support/test-api.js';

// Orders are committed in groups; one client's text that the database cannot store
// must never fail the valid orders it would have been grouped with.

let vh: TestVhost;
let db: TestDatabase;
let api: RunningOrderApi;

beforeAll(async () => {
  [vh, db] = await Promise.all([createTestVhost('order-unstorable'), createTestDatabase('order_unstorable')]);
  api = await startTestApi({ AMQP_URL: vh.url, DATABASE_URL: db.url, RELAY_ENABLED: 'false' });
});
afterAll(async () => {
  await api?.stop();
  await vh?.delete();
  await db?.drop();
});

const post = (payload: string) =>
  api.app.inject({
    method: 'POST',
    url: '/orders',
    headers: { 'content-type': 'application/json' },
    payload,
  });

describe('unstorable text among concurrent orders', () => {
  it('every valid order posted together with NUL and lone-surrogate orders is 201; each bad one is 400', async () => {
    const valid = Array.from({ length: 40 }, () => JSON.stringify(validOrder()));
    const bad = [
      JSON.stringify({ ...validOrder(), metadata: { channel: 'web\u0000' } }),
      JSON.stringify(validOrder()).replace('"Fountain pen"', '"Fountain \\ud800pen"'),
      JSON.stringify(validOrder()).replace('"Ada Lovelace"', '"Ada \\u0000Lovelace"'),
      JSON.stringify(validOrder()).replace('"web"', '"\\udfff"'),
    ];
    // Interleave them, so the bad ones arrive in the middle of groups.
    const bodies = valid.flatMap((v, i) => (i % 10 === 5 ? [v, bad[(i - 5) / 10] ?? v] : [v]));
    const answers = await Promise.all(bodies.map((b) => post(b)));
    const isBad = bodies.map((b) => bad.includes(b));
    answers.forEach((res, i) => {
      if (isBad[i]) {
        expect(res.statusCode, res.body).toBe(400);
        expect(res.json().errors[0].field).toMatch(/^\/(metadata\/channel|items\/1\/name|customer\/name)$/);
      } else {
        expect(res.statusCode, res.body).toBe(201);
      }
    });
    expect(answers.filter((r) => r.statusCode === 201)).toHaveLength(40);
    expect(await rowCounts(api.pool)).toEqual({ orders: 40, outbox: 200, states: 200, keys: 0 });
  });
});
