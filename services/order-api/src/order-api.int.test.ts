import { asyncApiDocument, CHANNELS, HEADERS, notifications, validate } from '@notify/contracts';
import type { AsyncApiDocument } from '@notify/contracts';
import type { Contract } from '@notify/contracts';
import { createTestVhost, waitFor } from '@notify/messaging/testing';
import type { TestVhost } from '@notify/messaging/testing';
import { createTestDatabase } from '@notify/service-kit/testing';
import type { TestDatabase } from '@notify/service-kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningOrderApi } from './server.js';
import { validOrder } from './test-support/order-fixtures.js';
import { rowCounts, startTestApi } from './test-support/test-api.js';

let vh: TestVhost;
let db: TestDatabase;
let api: RunningOrderApi;

beforeAll(async () => {
  [vh, db] = await Promise.all([createTestVhost('order-api'), createTestDatabase('order_api')]);
  api = await startTestApi({ AMQP_URL: vh.url, DATABASE_URL: db.url });
});
afterAll(async () => {
  await api?.stop();
  await vh?.delete();
  await db?.drop();
});

describe('POST /orders', () => {
  it('stores the order with server-computed totals and publishes one confirmed message per channel', async () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const res = await fetch(`${api.url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent },
      body: JSON.stringify(validOrder()),
    });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { id: string; reference: string; subtotal: number; total: number };
    expect(res.headers.get('location')).toBe(`/orders/${body.id}`);
    // 2 x 19.99 + 12.50 = 52.48, above the free-shipping threshold of 50.00.
    expect(body).toMatchObject({
      status: 'accepted',
      currency: 'GBP',
      subtotal: 5248,
      shipping: 0,
      total: 5248,
      links: { self: `/orders/${body.id}` },
    });
    expect(body.reference).toMatch(/^ORD-[0-9A-F]{12}$/);

    for (const channel of CHANNELS) {
      const [msg] = await waitFor(
        async () => {
          const got = await vh.take(channel, 10);
          return got.length ? got : null;
        },
        { what: `message in ${channel}` },
      );
      expect(msg?.properties.message_id).toBe(`${body.id}:${channel}`);
      expect(msg?.properties.correlation_id).toBe(body.id);
      expect(msg?.properties.type).toBe(notifications[channel].type);
      expect(msg?.properties.delivery_mode).toBe(2);
      // The trace of the HTTP request continues into every message.
      expect(msg?.properties.headers?.[HEADERS.traceparent]).toMatch(
        /^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/,
      );
      const payload = JSON.parse(msg?.payload ?? '{}');
      const contract: Contract = notifications[channel];
      expect(validate(contract, payload).ok).toBe(true);
      expect(payload.orderId).toBe(body.id);
    }

    const order = await waitFor(
      async () => {
        const r = await fetch(`${api.url}/orders/${body.id}`);
        const o = (await r.json()) as { status: string };
        return o.status === 'processing' ? o : null;
      },
      { what: 'all channels published' },
    );
    expect(order).toMatchObject({
      id: body.id,
      reference: body.reference,
      subtotal: 5248,
      shipping: 0,
      total: 5248,
      itemCount: 3,
      items: [
        { sku: 'BOOK-001', quantity: 2, unitPrice: 1999, lineTotal: 3998 },
        { sku: 'PEN-7', quantity: 1, unitPrice: 1250, lineTotal: 1250 },
      ],
    });
    const channels = (order as unknown as { channels: Record<string, { state: string; messageId: string }> })
      .channels;
    for (const c of CHANNELS) {
      expect(channels[c]).toMatchObject({ state: 'published', messageId: `${body.id}:${c}` });
    }
    expect(JSON.stringify(order)).not.toContain('tok_approve');
  });

  it('charges the documented flat shipping fee below the free-shipping threshold', async () => {
    const order = validOrder();
    order.items = [{ sku: 'PEN-7', name: 'Fountain pen', quantity: 1, unitPrice: 1250, weightGrams: 30 }];
    const res = await api.app.inject({ method: 'POST', url: '/orders', payload: order });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ subtotal: 1250, shipping: 499, total: 1749 });
  });
});

describe('GET /orders/:id', () => {
  it('answers 404 problem for an unknown id and 400 for a malformed one', async () => {
    const missing = await api.app.inject({ url: '/orders/7b7c8d3e-1f2a-4b5c-8d9e-0f1a2b3c4d5e' });
    expect(missing.statusCode).toBe(404);
    expect(missing.headers['content-type']).toContain('application/problem+json');
    expect(missing.json()).toMatchObject({ status: 404, title: 'Not Found', type: 'about:blank' });

    const malformed = await api.app.inject({ url: '/orders/not-a-uuid' });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().errors).toEqual([{ field: 'path:id', message: 'must be a valid uuid' }]);
  });
});

describe('operations', () => {
  it('answers /healthz, /readyz and /metrics only on the operations listener, bound to loopback', async () => {
    expect(api.opsPort).not.toBe(api.port);
    expect(api.ops.server.address()).toMatchObject({ address: '127.0.0.1' });
    for (const path of ['/healthz', '/readyz', '/metrics']) {
      expect((await fetch(`${api.url}${path}`)).status, path).toBe(404);
      expect((await fetch(`${api.opsUrl}${path}`)).status, path).toBe(200);
    }
    // The public API is not on the operations listener either.
    expect((await fetch(`${api.opsUrl}/orders/7b7c8d3e-1f2a-4b5c-8d9e-0f1a2b3c4d5e`)).status).toBe(404);
  });

  it('a flood of /readyz holds one database connection of its own while every order is still taken', async () => {
    const healthSessions = async () => {
      const { rows } = await api.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND application_name = 'order-api-health'`,
      );
      return rows[0]?.n ?? -1;
    };
    const sessionCounts: number[] = [];
    const probes = Array.from({ length: 150 }, () => fetch(`${api.opsUrl}/readyz`).then((r) => r.status));
    const orders = Array.from({ length: 20 }, () =>
      fetch(`${api.url}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(validOrder()),
      }).then((r) => r.status),
    );
    const sampling = (async () => {
      for (let i = 0; i < 5; i++) sessionCounts.push(await healthSessions());
    })();
    const [probeStatuses, orderStatuses] = await Promise.all([
      Promise.all(probes),
      Promise.all(orders),
      sampling,
    ]);
    expect(new Set(orderStatuses)).toEqual(new Set([201]));
    expect(new Set(probeStatuses)).toEqual(new Set([200]));
    expect(Math.max(...sessionCounts)).toBeLessThanOrEqual(1);
  });

  it('reports health, readiness with every dependency, and metrics', async () => {
    expect((await api.ops.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
    const ready = await waitFor(async () => {
      const r = await api.ops.inject({ url: '/readyz' });
      return r.json().status === 'ready' ? r : null;
    });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({
      status: 'ready',
      checks: { database: true, broker: true, consumer: true },
    });

    await waitFor(async () => (await rowCounts(api.pool)).outbox > 0 && api.relay?.stats.published, {
      what: 'a published row',
    });
    const metrics = (await api.ops.inject({ url: '/metrics' })).body;
    expect(metrics).toMatch(/http_requests_total\{[^}]*route="\/orders"[^}]*method="POST"[^}]*status="201"/);
    expect(metrics).toMatch(/http_request_duration_seconds_bucket\{/);
    expect(metrics).toMatch(/orders_created_total\{[^}]*\} [1-9]/);
    expect(metrics).toMatch(/outbox_backlog\{[^}]*\} \d+/);
    expect(metrics).toMatch(/outbox_oldest_unpublished_age_seconds\{[^}]*\} [\d.]+/);
    expect(metrics).toMatch(/outbox_publish_duration_seconds_count\{[^}]*\} [1-9]/);
    expect(metrics).toMatch(/outbox_lag_seconds_count\{[^}]*\} [1-9]/);
    expect(metrics).toContain('outbox_publish_failures_total');
  });

  it('serves the OpenAPI document generated from the route schemas, and a docs page', async () => {
    const doc = (await api.app.inject({ url: '/openapi.json' })).json();
    expect(doc.openapi).toBe('3.1.0');
    const post = doc.paths['/orders'].post;
    const schema = post.requestBody.content['application/json'].schema;
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.customer.properties.phone.pattern).toBe('^\\+[1-9][0-9]{6,14}$');
    expect(Object.keys(post.responses)).toEqual(
      expect.arrayContaining(['201', '400', '413', '415', '422', '503']),
    );
    expect(post.responses['400'].content['application/problem+json']).toBeDefined();
    expect(doc.paths['/orders/{id}'].get).toBeDefined();

    const page = await api.app.inject({ url: '/docs' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.body).toContain('swagger-ui');
  });

  it('serves the AsyncAPI document of the messages, its bindings naming the vhost it publishes to', async () => {
    const res = await fetch(`${api.url}/asyncapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/json');
    const doc = (await res.json()) as AsyncApiDocument;
    expect(doc.asyncapi).toBe('3.0.0');
    // The same document the generator writes, but for this API's vhost, not the default `/`.
    const expected = asyncApiDocument({ vhost: vh.vhost });
    expect(doc).toEqual(JSON.parse(JSON.stringify(expected)));
    const bindings = Object.values(doc.channels).map(
      (c) => (c['bindings'] as { amqp: { exchange?: { vhost: string }; queue?: { vhost: string } } }).amqp,
    );
    expect(bindings.length).toBeGreaterThan(0);
    for (const b of bindings) expect((b.exchange ?? b.queue)?.vhost).toBe(vh.vhost);
    expect(vh.vhost).not.toBe('/');
  });
});
