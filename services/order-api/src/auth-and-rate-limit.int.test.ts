import { createTestVhost } from '@notify/messaging/testing';
import type { TestVhost } from '@notify/messaging/testing';
import { createTestDatabase } from '@notify/service-kit/testing';
import type { TestDatabase } from '@notify/service-kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningOrderApi } from './server.js';
import { validOrder } from './test-support/order-fixtures.js';
import { rowCounts, startTestApi } from './test-support/test-api.js';

const KEY_A = 'key-a-0123456789abcdef';
const KEY_B = 'key-b-fedcba9876543210';

let vh: TestVhost;
let db: TestDatabase;
let api: RunningOrderApi;

beforeAll(async () => {
  [vh, db] = await Promise.all([createTestVhost('order-auth'), createTestDatabase('order_auth')]);
  api = await startTestApi({
    AMQP_URL: vh.url,
    DATABASE_URL: db.url,
    API_KEYS: `${KEY_A}, ${KEY_B}`,
    RATE_LIMIT_MAX: '1000',
  });
});
afterAll(async () => {
  await api?.stop();
  await vh?.delete();
  await db?.drop();
});

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const postOrder = (headers: Record<string, string>) =>
  api.app.inject({ method: 'POST', url: '/orders', payload: validOrder(), headers });

describe('API keys', () => {
  it('refuses requests without a key or with a wrong one, and stores nothing', async () => {
    const none = await postOrder({});
    expect(none.statusCode).toBe(401);
    expect(none.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(none.headers['www-authenticate']).toBe('Bearer realm="order-api"');
    expect(none.json()).toMatchObject({ status: 401, title: 'Unauthorized' });

    const wrong = await postOrder(bearer('key-c-not-a-configured-key'));
    expect(wrong.statusCode).toBe(401);
    expect(wrong.headers['www-authenticate']).toContain('invalid_token');
    // A prefix of a valid key is not a valid key.
    expect((await postOrder(bearer(KEY_A.slice(0, -1)))).statusCode).toBe(401);
    expect((await postOrder({ authorization: `Basic ${KEY_A}` })).statusCode).toBe(401);

    const read = await api.app.inject({ url: '/orders/7b7c8d3e-1f2a-4b5c-8d9e-0f1a2b3c4d5e' });
    expect(read.statusCode).toBe(401);
    // Unknown paths do not reveal what exists to unauthenticated callers.
    expect((await api.app.inject({ url: '/admin' })).statusCode).toBe(401);
    expect(await rowCounts(api.pool)).toEqual({ orders: 0, outbox: 0, states: 0, keys: 0 });
  });

  it('accepts every configured key', async () => {
    expect((await postOrder(bearer(KEY_A))).statusCode).toBe(201);
    expect((await postOrder(bearer(KEY_B))).statusCode).toBe(201);
  });

  it('keeps the API documents open, and health, readiness and metrics open on the operations listener only', async () => {
    for (const url of ['/openapi.json', '/asyncapi.json', '/docs']) {
      expect((await api.app.inject({ url })).statusCode, url).toBe(200);
    }
    for (const url of ['/healthz', '/readyz', '/metrics']) {
      expect([200, 503], url).toContain((await api.ops.inject({ url })).statusCode);
      // On the public port they are not there; without a key a client does not even learn that.
      expect((await api.app.inject({ url, headers: bearer(KEY_A) })).statusCode, url).toBe(404);
    }
    const doc = (await api.app.inject({ url: '/openapi.json' })).json();
    expect(doc.components.securitySchemes.apiKey).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('scopes Idempotency-Keys per client: two clients using the same key get two orders', async () => {
    const key = 'shared-key-000001';
    const a = await postOrder({ ...bearer(KEY_A), 'idempotency-key': key });
    const b = await postOrder({ ...bearer(KEY_B), 'idempotency-key': key });
    expect([a.statusCode, b.statusCode]).toEqual([201, 201]);
    expect(a.json().id).not.toBe(b.json().id);
    const again = await postOrder({ ...bearer(KEY_A), 'idempotency-key': key });
    expect(again.json().id).toBe(a.json().id);
  });
});

describe('rate limit', () => {
  let limited: RunningOrderApi;
  beforeAll(async () => {
    limited = await startTestApi({
      AMQP_URL: vh.url,
      DATABASE_URL: db.url,
      API_KEYS: `${KEY_A}, ${KEY_B}`,
      RATE_LIMIT_MAX: '3',
      RATE_LIMIT_WINDOW: '1 minute',
      RELAY_ENABLED: 'false',
    });
  });
  afterAll(async () => {
    await limited?.stop();
  });
  const read = (headers: Record<string, string>) =>
    limited.app.inject({ url: '/orders/7b7c8d3e-1f2a-4b5c-8d9e-0f1a2b3c4d5e', headers });

  it('answers 429 problem per client once its window is used up, other clients unaffected', async () => {
    const statuses: number[] = [];
    let last: Awaited<ReturnType<typeof read>> | undefined;
    for (let i = 0; i < 4; i++) {
      last = await read(bearer(KEY_B));
      statuses.push(last.statusCode);
    }
    expect(statuses).toEqual([404, 404, 404, 429]);
    expect(last?.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(last?.headers['retry-after']).toMatch(/^\d+$/);
    expect(last?.json()).toMatchObject({ status: 429, title: 'Too Many Requests', type: 'about:blank' });

    // Health is never limited; key A has its own window.
    for (let i = 0; i < 5; i++) expect((await limited.ops.inject({ url: '/healthz' })).statusCode).toBe(200);
    expect((await read(bearer(KEY_A))).statusCode).toBe(404);
  });

  it('throttles callers guessing keys, by address', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await read(bearer(`guess-${i}-0123456789abcdef`));
      statuses.push(res.statusCode);
    }
    expect(statuses).toEqual([401, 401, 401, 429]);
  });
});
