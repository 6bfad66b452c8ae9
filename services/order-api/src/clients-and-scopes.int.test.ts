import { Writable } from 'node:stream';
import { createTestVhost } from '@notify/messaging/testing';
import type { TestVhost } from '@notify/messaging/testing';
import { createTestDatabase } from '@notify/service-kit/testing';
import type { TestDatabase } from '@notify/service-kit/testing';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOrderApi } from './server.js';
import type { RunningOrderApi } from './server.js';
import { openEventStream } from './test-support/event-stream.js';
import { validOrder } from './test-support/order-fixtures.js';

// Clients and scopes: an order belongs to the client that created it, and only the
// operator scope opens the dead-letter endpoints.

const EU = 'eu-key-0123456789abcdef';
const US = 'us-key-0123456789abcdef';
const OPS = 'ops-key-0123456789abcdef';

let vh: TestVhost;
let db: TestDatabase;
let api: RunningOrderApi;
const logged: string[] = [];

beforeAll(async () => {
  [vh, db] = await Promise.all([createTestVhost('order-clients'), createTestDatabase('order_clients')]);
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logged.push(String(chunk));
      done();
    },
  });
  api = await startOrderApi(
    {
      PORT: '0',
      OPS_PORT: '0',
      HOST: '127.0.0.1',
      RATE_LIMIT_MAX: '0',
      AMQP_URL: vh.url,
      DATABASE_URL: db.url,
      API_KEYS: `shop-eu=${EU},shop-us=${US},ops=${OPS}`,
      API_OPERATORS: 'ops',
      API_TRUSTED_FORWARDERS: 'shop-us',
      TRUST_PROXY: '1',
    },
    { logger: pino({ level: 'debug' }, sink) },
  );
  await api.broker.waitUntilConnected();
});
afterAll(async () => {
  await api?.stop();
  await vh?.delete();
  await db?.drop();
});

const as = (key: string) => ({ authorization: `Bearer ${key}` });

async function placeOrder(key: string): Promise<string> {
  const res = await api.app.inject({
    method: 'POST',
    url: '/orders',
    payload: validOrder(),
    headers: as(key),
  });
  expect(res.statusCode, res.body).toBe(201);
  return (res.json() as { id: string }).id;
}

describe('orders belong to their client', () => {
  it('another client gets 404 for the order, exactly as for one that does not exist; an operator reads it', async () => {
    const id = await placeOrder(EU);
    expect((await api.app.inject({ url: `/orders/${id}`, headers: as(EU) })).statusCode).toBe(200);
    const other = await api.app.inject({ url: `/orders/${id}`, headers: as(US) });
    const none = await api.app.inject({
      url: '/orders/7b7c8d3e-1f2a-4b5c-8d9e-0f1a2b3c4d5e',
      headers: as(US),
    });
    expect(other.statusCode).toBe(404);
    expect(other.json().detail).toBe(none.json().detail);
    expect(other.body).not.toContain('Ada');
    expect((await api.app.inject({ url: `/orders/${id}`, headers: as(OPS) })).statusCode).toBe(200);
    const { rows } = await api.pool.query<{ client: string }>('SELECT client FROM orders WHERE id = $1', [
      id,
    ]);
    expect(rows[0]?.client).toBe('shop-eu');
  });

  it("another client gets 404 for the order's event stream; its owner gets the stream", async () => {
    const id = await placeOrder(US);
    const stranger = await api.app.inject({ url: `/orders/${id}/events`, headers: as(EU) });
    expect(stranger.statusCode).toBe(404);
    const owner = await openEventStream(`${api.url}/orders/${id}/events`, as(US));
    try {
      expect(owner.status).toBe(200);
      const first = await owner.waitFor((e) => e.event === 'order');
      expect(JSON.parse(first.data).id).toBe(id);
    } finally {
      owner.close();
    }
  });

  it('the same Idempotency-Key of two clients makes two orders, each owned by its client', async () => {
    const post = (key: string) =>
      api.app.inject({
        method: 'POST',
        url: '/orders',
        payload: validOrder(),
        headers: { ...as(key), 'idempotency-key': 'shared-key-0001' },
      });
    const [eu, us] = [await post(EU), await post(US)];
    expect(eu.json().id).not.toBe(us.json().id);
    expect((await api.app.inject({ url: `/orders/${us.json().id}`, headers: as(EU) })).statusCode).toBe(404);
  });
});

describe('the operator scope', () => {
  it('a client without it gets 403 from every dead-letter endpoint; an operator gets the answer', async () => {
    const requests = [
      { method: 'GET' as const, url: '/dead-letters' },
      { method: 'GET' as const, url: '/dead-letters/email' },
      { method: 'POST' as const, url: '/dead-letters/email/replay', payload: { all: true } },
    ];
    for (const r of requests) {
      const res = await api.app.inject({ ...r, headers: as(EU) });
      expect(res.statusCode, `${r.method} ${r.url}`).toBe(403);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.json().detail).toMatch(/operator scope/);
    }
    const list = await api.app.inject({ url: '/dead-letters', headers: as(OPS) });
    expect(list.statusCode, list.body).toBe(200);
    expect(list.json()).toMatchObject({ total: 0 });
  });

  it('the OpenAPI document describes the key format and the operator scope', async () => {
    const doc = (await api.app.inject({ url: '/openapi.json' })).json();
    expect(doc.components.securitySchemes.apiKey).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.components.securitySchemes.apiKey.description).toMatch(
      /API_KEYS=shop-eu=<key>.*API_OPERATORS/s,
    );
    expect(doc.paths['/dead-letters'].get.responses).toHaveProperty('403');
  });

  it('never logs a key', () => {
    const all = logged.join('');
    expect(all.length).toBeGreaterThan(0);
    for (const key of [EU, US, OPS]) expect(all).not.toContain(key);
  });
});

describe('the client IP', () => {
  const storedIp = async (id: string) =>
    (
      await api.pool.query<{ ip: string | null }>("SELECT metadata->>'ip' AS ip FROM orders WHERE id = $1", [
        id,
      ])
    ).rows[0]?.ip;
  const post = (key: string, extra: { ip?: string; forwardedFor?: string }) =>
    api.app.inject({
      method: 'POST',
      url: '/orders',
      remoteAddress: '10.1.2.3',
      payload: { ...validOrder(), metadata: { channel: 'web', ...(extra.ip ? { ip: extra.ip } : {}) } },
      headers: { ...as(key), ...(extra.forwardedFor ? { 'x-forwarded-for': extra.forwardedFor } : {}) },
    });

  it('comes from the one trusted hop, not from addresses the client put before it', async () => {
    const res = await post(EU, { forwardedFor: '198.51.100.66, 203.0.113.9' });
    expect(res.statusCode, res.body).toBe(201);
    expect(await storedIp(res.json().id)).toBe('203.0.113.9');
    const direct = await post(EU, {});
    expect(await storedIp(direct.json().id)).toBe('10.1.2.3');
  });

  it('is taken from metadata.ip only for a trusted forwarder; any other client gets 400 naming the field', async () => {
    const refused = await post(EU, { ip: '192.0.2.44' });
    expect(refused.statusCode).toBe(400);
    expect(refused.json().errors).toEqual([
      { field: '/metadata/ip', message: 'is not accepted from this client' },
    ]);
    const forwarded = await post(US, { ip: '192.0.2.44' });
    expect(forwarded.statusCode, forwarded.body).toBe(201);
    expect(await storedIp(forwarded.json().id)).toBe('192.0.2.44');
  });
});
