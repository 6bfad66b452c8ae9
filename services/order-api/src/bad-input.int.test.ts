import { CHANNELS, MAX_AMOUNT_MINOR } from '@notify/contracts';
import { createTestVhost, waitFor } from '@notify/messaging/testing';
import type { TestVhost } from '@notify/messaging/testing';
import { createTestDatabase } from '@notify/service-kit/testing';
import type { TestDatabase } from '@notify/service-kit/testing';
import type { InjectOptions } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PROBLEM_TYPES } from './http/problem.js';
import type { RunningOrderApi } from './server.js';
import { validOrder } from './test-support/order-fixtures.js';
import { rowCounts, startTestApi } from './test-support/test-api.js';

// Every bad request is answered with a problem document naming what is wrong, and
// none of it reaches the database or the broker: rows are counted after each case,
// and a final valid order proves the queues hold nothing but its own five messages.

let vh: TestVhost;
let db: TestDatabase;
let api: RunningOrderApi;

beforeAll(async () => {
  [vh, db] = await Promise.all([createTestVhost('order-bad'), createTestDatabase('order_bad')]);
  api = await startTestApi({ AMQP_URL: vh.url, DATABASE_URL: db.url, BODY_LIMIT_BYTES: String(64 * 1024) });
  await api.broker.waitUntilConnected();
});
afterAll(async () => {
  await api?.stop();
  await vh?.delete();
  await db?.drop();
});
afterEach(async (ctx) => {
  if (ctx.task.name.startsWith('a valid order')) return;
  expect(await rowCounts(api.pool)).toEqual({ orders: 0, outbox: 0, states: 0, keys: 0 });
});

type Order = ReturnType<typeof validOrder>;
function orderWith(change: (o: Order & Record<string, unknown>) => void): Order {
  const o = validOrder() as Order & Record<string, unknown>;
  change(o);
  return o;
}
const json = (body: unknown): InjectOptions => ({
  method: 'POST',
  url: '/orders',
  headers: { 'content-type': 'application/json' },
  payload: JSON.stringify(body),
});
const raw = (payload: string, contentType = 'application/json'): InjectOptions => ({
  method: 'POST',
  url: '/orders',
  headers: { 'content-type': contentType },
  payload,
});

interface Case {
  name: string;
  request: InjectOptions;
  status: number;
  type?: string;
  field?: string;
  message?: RegExp;
  headers?: Record<string, string>;
}

const item = (n: number) => ({
  sku: `SKU-${n}`,
  name: `Item ${n}`,
  quantity: 1,
  unitPrice: 100,
  weightGrams: 10,
});
const validation = PROBLEM_TYPES.validation;

const cases: Case[] = [
  {
    name: 'malformed JSON',
    request: raw('{"customer": {"name": "Ada"'),
    status: 400,
    type: PROBLEM_TYPES.malformedJson,
    field: 'body',
  },
  {
    name: 'an empty body sent as JSON',
    request: raw(''),
    status: 400,
    type: PROBLEM_TYPES.malformedJson,
    field: 'body',
  },
  {
    name: 'a JSON array instead of an order',
    request: json([validOrder()]),
    status: 400,
    type: validation,
    field: 'body',
  },
  {
    name: 'a text/plain body (415)',
    request: raw(JSON.stringify(validOrder()), 'text/plain'),
    status: 415,
    headers: { 'accept-post': 'application/json' },
  },
  {
    name: 'a form-encoded body (415)',
    request: raw('customer=ada', 'application/x-www-form-urlencoded'),
    status: 415,
  },
  {
    name: 'a body over the size limit (413)',
    request: json(orderWith((o) => (o.metadata = { userAgent: 'x'.repeat(70 * 1024) }))),
    status: 413,
  },
  {
    name: 'a client-supplied total (unknown field)',
    request: json(orderWith((o) => (o.total = 1))),
    status: 400,
    type: validation,
    field: '/total',
    message: /is not allowed/,
  },
  {
    name: 'an unknown nested field',
    request: json(orderWith((o) => ((o.items[0] as Record<string, unknown>).lineTotal = 1))),
    status: 400,
    type: validation,
    field: '/items/0/lineTotal',
    message: /is not allowed/,
  },
  {
    name: 'a NUL character in the customer name',
    request: json(orderWith((o) => (o.customer.name = 'Ada\u0000Lovelace'))),
    status: 400,
    type: validation,
    field: '/customer/name',
    message: /NUL character or an unpaired surrogate/,
  },
  {
    name: 'an unpaired UTF-16 surrogate in a nested address line',
    request: raw(
      JSON.stringify(validOrder()).replace('"12 St James Square"', '"12 St James \\ud83d Square"'),
    ),
    status: 400,
    type: validation,
    field: '/shippingAddress/line1',
  },
  {
    name: 'a lone low surrogate in metadata',
    request: json(orderWith((o) => (o.metadata = { userAgent: 'agent \udc00' }))),
    status: 400,
    type: validation,
    field: '/metadata/userAgent',
  },
  {
    name: 'a NUL character in a key',
    request: json(orderWith((o) => (o.metadata = { ['chan\u0000nel']: 'web' } as Order['metadata']))),
    status: 400,
    type: validation,
    field: '/metadata/chan\\u0000nel',
  },
  {
    name: 'a missing customer email',
    request: json(orderWith((o) => delete (o.customer as Partial<Order['customer']>).email)),
    status: 400,
    type: validation,
    field: '/customer/email',
    message: /is required/,
  },
  {
    name: 'missing items',
    request: json(orderWith((o) => delete (o as Partial<Order>).items)),
    status: 400,
    type: validation,
    field: '/items',
    message: /is required/,
  },
  {
    name: 'an empty item list',
    request: json(orderWith((o) => (o.items = []))),
    status: 400,
    type: validation,
    field: '/items',
  },
  {
    name: 'a zero quantity',
    request: json(orderWith((o) => (o.items[0]!.quantity = 0))),
    status: 400,
    type: validation,
    field: '/items/0/quantity',
  },
  {
    name: 'a negative quantity',
    request: json(orderWith((o) => (o.items[1]!.quantity = -3))),
    status: 400,
    type: validation,
    field: '/items/1/quantity',
  },
  {
    name: 'too many items',
    request: json(orderWith((o) => (o.items = Array.from({ length: 101 }, (_, i) => item(i))))),
    status: 400,
    type: validation,
    field: '/items',
    message: /must NOT have more than 100 items/,
  },
  {
    name: 'a non-integer amount',
    request: json(orderWith((o) => (o.items[0]!.unitPrice = 19.99))),
    status: 400,
    type: validation,
    field: '/items/0/unitPrice',
    message: /integer/,
  },
  {
    name: 'an amount sent as a string (no coercion)',
    request: json(orderWith((o) => ((o.items[0] as Record<string, unknown>).unitPrice = '1999'))),
    status: 400,
    type: validation,
    field: '/items/0/unitPrice',
  },
  {
    name: 'a negative amount',
    request: json(orderWith((o) => (o.items[0]!.unitPrice = -1))),
    status: 400,
    type: validation,
    field: '/items/0/unitPrice',
  },
  {
    name: 'a unit price above the largest amount',
    request: json(orderWith((o) => (o.items[0]!.unitPrice = MAX_AMOUNT_MINOR + 1))),
    status: 400,
    type: validation,
    field: '/items/0/unitPrice',
  },
  {
    name: 'a line total that overflows',
    request: json(
      orderWith((o) => (o.items[0] = { ...item(0), quantity: 1000, unitPrice: MAX_AMOUNT_MINOR / 100 })),
    ),
    status: 400,
    type: validation,
    field: '/items/0/unitPrice',
    message: /exceeds the largest amount/,
  },
  {
    name: 'a subtotal that overflows',
    request: json(
      orderWith((o) => (o.items = [0, 1, 2].map((i) => ({ ...item(i), unitPrice: MAX_AMOUNT_MINOR / 2 })))),
    ),
    status: 400,
    type: validation,
    field: '/items',
    message: /exceeds the largest amount/,
  },
  {
    name: 'an unknown currency',
    request: json(orderWith((o) => ((o as Record<string, unknown>).currency = 'XYZ'))),
    status: 400,
    type: validation,
    field: '/currency',
  },
  {
    name: 'a bad email',
    request: json(orderWith((o) => (o.customer.email = 'ada@'))),
    status: 400,
    type: validation,
    field: '/customer/email',
    message: /email/,
  },
  {
    name: 'a phone number not in E.164',
    request: json(orderWith((o) => (o.customer.phone = '07700 900123'))),
    status: 400,
    type: validation,
    field: '/customer/phone',
  },
  {
    name: 'an unknown country',
    request: json(orderWith((o) => (o.shippingAddress.country = 'UK'))),
    status: 400,
    type: validation,
    field: '/shippingAddress/country',
  },
  {
    name: 'a __proto__ key',
    request: raw(JSON.stringify(validOrder()).replace(/^\{/, '{"__proto__":{"isAdmin":true},')),
    status: 400,
    type: PROBLEM_TYPES.forbiddenKey,
    field: '/__proto__',
  },
  {
    name: 'a nested constructor key',
    request: raw(
      JSON.stringify(validOrder()).replace(
        '"customer":{',
        '"customer":{"constructor":{"prototype":{"x":1}},',
      ),
    ),
    status: 400,
    type: PROBLEM_TYPES.forbiddenKey,
    field: '/customer/constructor',
  },
  {
    name: 'a huge string within the body limit',
    request: json(orderWith((o) => (o.customer.name = 'A'.repeat(20_000)))),
    status: 400,
    type: validation,
    field: '/customer/name',
    message: /must NOT have more than 200 characters/,
  },
  {
    name: 'a malformed Idempotency-Key',
    request: {
      ...json(validOrder()),
      headers: { 'content-type': 'application/json', 'idempotency-key': 'a b' },
    },
    status: 400,
    type: validation,
    field: 'header:idempotency-key',
  },
  {
    name: 'a wrong method on /orders (405)',
    request: {
      method: 'PUT',
      url: '/orders',
      payload: 'not even json',
      headers: { 'content-type': 'text/plain' },
    },
    status: 405,
    headers: { allow: 'POST' },
  },
  {
    name: 'a wrong method on /orders/:id (405)',
    request: { method: 'DELETE', url: '/orders/7b7c8d3e-1f2a-4b5c-8d9e-0f1a2b3c4d5e' },
    status: 405,
    headers: { allow: 'GET, HEAD' },
  },
  {
    name: 'an unknown route (404)',
    request: { ...json(validOrder()), url: '/order' },
    status: 404,
  },
];

describe('POST /orders refuses bad input, stores and publishes nothing', () => {
  it.each(cases)('$name', async (c) => {
    const res = await api.app.inject(c.request);
    expect(res.statusCode, res.body).toBe(c.status);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    const problem = res.json();
    expect(problem).toMatchObject({
      type: c.type ?? 'about:blank',
      status: c.status,
      title: expect.any(String),
      instance: expect.stringMatching(/^urn:uuid:[0-9a-f-]{36}$/),
    });
    expect(JSON.stringify(problem)).not.toMatch(/at .+\.(js|ts):\d+|node_modules|stack/);
    if (c.field) {
      const errors = problem.errors as { field: string; message: string }[];
      const hit = errors.find((e) => e.field === c.field);
      expect(hit, JSON.stringify(errors)).toBeDefined();
      if (c.message) expect(hit?.message).toMatch(c.message);
    }
    for (const [name, value] of Object.entries(c.headers ?? {})) expect(res.headers[name]).toBe(value);
  });

  it('lists every invalid field at once', async () => {
    const res = await api.app.inject(
      json(
        orderWith((o) => {
          o.customer.email = 'nope';
          o.customer.phone = '123';
          o.billingAddress.country = 'ZZ';
        }),
      ),
    );
    expect(res.statusCode).toBe(400);
    expect(res.json().errors.map((e: { field: string }) => e.field)).toEqual(
      expect.arrayContaining(['/customer/email', '/customer/phone', '/billingAddress/country']),
    );
  });

  it('a valid order afterwards is the only thing that reaches the queues', async () => {
    const res = await api.app.inject(json(validOrder()));
    expect(res.statusCode).toBe(201);
    const { id } = res.json() as { id: string };
    await waitFor(
      async () => (await api.pool.query('SELECT 1 FROM outbox WHERE published_at IS NULL')).rowCount === 0,
      {
        what: 'outbox drained',
      },
    );
    for (const channel of CHANNELS) {
      const messages = await vh.take(channel, 100);
      expect(messages.map((m) => m.properties.message_id)).toEqual([`${id}:${channel}`]);
    }
    expect(await rowCounts(api.pool)).toEqual({ orders: 1, outbox: 5, states: 5, keys: 0 });
  });
});
