import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestVhost, MANAGEMENT_URL, waitFor } from '@notify/messaging/testing';
import type { TestVhost } from '@notify/messaging/testing';
import { createPool } from '@notify/service-kit';
import { createTestDatabase } from '@notify/service-kit/testing';
import type { TestDatabase } from '@notify/service-kit/testing';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningOrderApi } from '../server.js';
import { openEventStream } from '../test-support/event-stream.js';
import { validOrder } from '../test-support/order-fixtures.js';
import { startTestApi } from '../test-support/test-api.js';
import { CONSOLE_CSP } from '../routes/console-routes.js';
import { ParkedLetters } from '../dead-letters/parked-letters.js';

const KEY = 'console-key-0123456789';
const auth = { authorization: `Bearer ${KEY}` };

/** A stand-in for a consumer service's operations port, with a counter the test moves. */
class FakeOps {
  processed = 0;
  ready = true;
  readonly server: Server = createServer((req, res) => {
    if (req.url === '/readyz') {
      res.writeHead(this.ready ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: this.ready ? 'ready' : 'not ready', checks: { broker: this.ready } }));
    } else if (req.url === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(
        '# HELP messages_processed_total x\n# TYPE messages_processed_total counter\n' +
          `messages_processed_total{queue="email",outcome="ack",service="email"} ${this.processed}\n` +
          `messages_processed_total{queue="email",outcome="retry",service="email"} 1\n`,
      );
    } else {
      res.writeHead(404).end();
    }
  });

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const a = this.server.address();
    return `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
  }
}

/** A port nothing listens on: taken, then released. */
async function closedPortUrl(): Promise<string> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const a = s.address();
  await new Promise((resolve) => s.close(resolve));
  return `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
}

let vh: TestVhost;
let db: TestDatabase;
let api: RunningOrderApi;
let assetsDir: string;
const fake = new FakeOps();

beforeAll(async () => {
  [vh, db] = await Promise.all([createTestVhost('order-console'), createTestDatabase('order_console')]);
  assetsDir = mkdtempSync(join(tmpdir(), 'console-assets-'));
  mkdirSync(join(assetsDir, 'assets'));
  writeFileSync(join(assetsDir, 'index.html'), '<!doctype html><title>Console</title>');
  writeFileSync(join(assetsDir, 'assets', 'index-abc123.js'), 'console.log(1)');
  writeFileSync(join(assetsDir, 'assets', 'notes.md'), 'not a type the console serves');
  const fakeUrl = await fake.listen();
  const closed = await closedPortUrl();
  api = await startTestApi({
    AMQP_URL: vh.url,
    DATABASE_URL: db.url,
    // The console needs the operator scope.
    API_KEYS: `ops=${KEY}`,
    API_OPERATORS: 'ops',
    CONSOLE_ASSETS_DIR: assetsDir,
    CONSOLE_MAX_STREAMS: '2',
    CONSOLE_SERVICE_URLS: `email=${fakeUrl},whatsapp=${closed},logistic=${closed},payment=${closed},fraud=${closed}`,
    SSE_HEARTBEAT_MS: '200',
  });
});
afterAll(async () => {
  await api?.stop();
  fake.server.closeAllConnections();
  await new Promise((resolve) => fake.server.close(resolve));
  await vh?.delete();
  await db?.drop();
  if (assetsDir) rmSync(assetsDir, { recursive: true, force: true });
});

async function placeOrder(email: string): Promise<{ id: string; reference: string }> {
  const body = validOrder();
  body.customer.email = email;
  const res = await api.app.inject({ method: 'POST', url: '/orders', payload: body, headers: auth });
  expect(res.statusCode).toBe(201);
  return res.json();
}

describe('the console page', () => {
  it('is served without a key, under a strict Content-Security-Policy', async () => {
    const res = await api.app.inject({ url: '/console/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.body).toContain('<title>Console</title>');
    expect(res.headers['content-security-policy']).toBe(CONSOLE_CSP);
    for (const d of [
      "default-src 'self'",
      "script-src 'self'",
      "style-src 'self'",
      "connect-src 'self'",
      "img-src 'self' data:",
      "frame-ancestors 'none'",
      "base-uri 'none'",
      "form-action 'none'",
    ]) {
      expect(CONSOLE_CSP).toContain(d);
    }
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['cache-control']).toBe('no-cache');

    const js = await api.app.inject({ url: '/console/assets/index-abc123.js' });
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['cache-control']).toContain('immutable');

    const redirect = await api.app.inject({ url: '/console' });
    expect(redirect.statusCode).toBe(308);
    expect(redirect.headers.location).toBe('/console/');
  });

  it('serves only the built files it read at start-up', async () => {
    for (const url of [
      '/console/assets/notes.md',
      '/console/assets/missing.js',
      '/console/../package.json',
      '/console/%2e%2e/%2e%2e/package.json',
    ]) {
      const res = await api.app.inject({ url });
      // A path that leaves /console/ is another route's (401 without a key); none serves the file.
      expect([400, 401, 404], url).toContain(res.statusCode);
      expect(res.body).not.toContain('"name"');
    }
  });
});

describe('the console API', () => {
  it('needs an API key and is never cached', async () => {
    for (const url of ['/console/api/orders', '/console/api/system', '/console/api/orders/stream']) {
      const res = await api.app.inject({ url });
      expect(res.statusCode, url).toBe(401);
      expect(res.headers['content-security-policy']).toBe(CONSOLE_CSP);
    }
    const ok = await api.app.inject({ url: '/console/api/orders', headers: auth });
    expect(ok.statusCode).toBe(200);
    expect(ok.headers['cache-control']).toBe('no-store');
  });

  it('lists orders newest first, finds them by id, reference or email, and pages with before', async () => {
    const a = await placeOrder('grace.hopper@example.com');
    const b = await placeOrder('alan.turing@example.org');
    const c = await placeOrder('grace.h@example.net');

    const list = await api.app.inject({ url: '/console/api/orders?limit=3', headers: auth });
    expect(list.statusCode).toBe(200);
    const page = list.json();
    expect(page.orders.map((o: { id: string }) => o.id)).toEqual([c.id, b.id, a.id]);
    expect(page.orders[0]).toMatchObject({
      id: c.id,
      reference: c.reference,
      customerEmail: 'grace.h@example.net',
      status: expect.stringMatching(/^(accepted|processing)$/),
      placedAt: expect.any(String),
    });
    expect(Object.keys(page.orders[0].channels).sort()).toEqual([
      'email',
      'fraud',
      'logistic',
      'payment',
      'whatsapp',
    ]);
    expect(page.orders[0].channels.email).toEqual({
      state: expect.any(String),
      updatedAt: expect.any(String),
    });
    // Nothing but the summary: no address, phone or items.
    expect(JSON.stringify(page)).not.toContain('St James');
    expect(JSON.stringify(page)).not.toContain('+447700900123');

    const search = async (q: string) => {
      const res = await api.app.inject({
        url: `/console/api/orders?q=${encodeURIComponent(q)}`,
        headers: auth,
      });
      expect(res.statusCode, q).toBe(200);
      return res.json().orders.map((o: { id: string }) => o.id);
    };
    expect(await search('GRACE.')).toEqual([c.id, a.id]);
    expect(await search('alan.turing@example.org')).toEqual([b.id]);
    expect(await search(b.reference.toLowerCase())).toEqual([b.id]);
    expect(await search(a.id.toUpperCase())).toEqual([a.id]);
    // LIKE wildcards in the search are plain characters.
    expect(await search('gr%ce')).toEqual([]);
    expect(await search('___')).toEqual([]);

    const first = (await api.app.inject({ url: '/console/api/orders?limit=2', headers: auth })).json();
    expect(first.orders.map((o: { id: string }) => o.id)).toEqual([c.id, b.id]);
    expect(first.nextBefore).toEqual(expect.any(String));
    const second = (
      await api.app.inject({ url: `/console/api/orders?limit=2&before=${first.nextBefore}`, headers: auth })
    ).json();
    expect(second.orders.map((o: { id: string }) => o.id)).toEqual([a.id]);
    expect(second.nextBefore).toBeNull();
  });

  it('refuses searches that are too short or too broad, and cursors it did not make', async () => {
    for (const url of [
      '/console/api/orders?q=ab',
      '/console/api/orders?limit=0',
      '/console/api/orders?limit=1000',
      '/console/api/orders?before=bm90LWEtY3Vyc29y',
      '/console/api/orders?before=%3Cscript%3E',
      '/console/api/orders?other=1',
    ]) {
      const res = await api.app.inject({ url, headers: auth });
      expect(res.statusCode, url).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
    const res = await api.app.inject({ url: '/console/api/orders?limit=101', headers: auth });
    expect(res.statusCode).toBe(200);
    expect(res.json().orders.length).toBeLessThanOrEqual(100);
  });

  it('is in the OpenAPI document with its schemas', async () => {
    const doc = (await api.app.inject({ url: '/openapi.json' })).json();
    for (const path of ['/console/api/orders', '/console/api/orders/stream', '/console/api/system']) {
      expect(doc.paths[path]?.get, path).toBeDefined();
    }
    const ok = doc.paths['/console/api/orders'].get.responses['200'].content['application/json'].schema;
    expect(JSON.stringify(ok)).toContain('customerEmail');
    expect(doc.paths['/console/{*}']).toBeUndefined();
  });
});

describe('the console stream', () => {
  it('sends every placed and changed order, and keeps the stream alive', async () => {
    const stream = await openEventStream(`${api.url}/console/api/orders/stream`, auth);
    try {
      expect(stream.status).toBe(200);
      expect(stream.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
      expect(stream.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
      await stream.waitFor((e) => e.event === 'ready');
      const placed = await placeOrder('stream.watcher@example.com');
      const seen = await stream.waitFor(
        (e) => e.event === 'order' && JSON.parse(e.data).id === placed.id,
        30_000,
      );
      expect(JSON.parse(seen.data)).toMatchObject({
        reference: placed.reference,
        customerEmail: 'stream.watcher@example.com',
      });
      // The relay publishes it: every channel moves on from pending, and the stream says so.
      await stream.waitFor((e) => {
        if (e.event !== 'order') return false;
        const o = JSON.parse(e.data);
        return (
          o.id === placed.id &&
          Object.values(o.channels).every((c) => (c as { state: string }).state === 'published')
        );
      }, 30_000);
      await waitFor(() => stream.comments >= 1, { timeoutMs: 10_000, what: 'a keep-alive comment' });
    } finally {
      stream.close();
    }
  });

  it('caps the open streams and frees a place when a client leaves', async () => {
    const a = await openEventStream(`${api.url}/console/api/orders/stream`, auth);
    const b = await openEventStream(`${api.url}/console/api/orders/stream`, auth);
    try {
      await Promise.all([a.waitFor((e) => e.event === 'ready'), b.waitFor((e) => e.event === 'ready')]);
      const refused = await api.app.inject({ url: '/console/api/orders/stream', headers: auth });
      expect(refused.statusCode).toBe(503);
      expect(refused.headers['retry-after']).toBe('5');
      a.close();
      const c = await waitFor(
        async () => {
          const s = await openEventStream(`${api.url}/console/api/orders/stream`, auth);
          if (s.status === 200) return s;
          s.close();
          return null;
        },
        { timeoutMs: 20_000, what: 'a place for a new stream' },
      );
      await c.waitFor((e) => e.event === 'ready');
      c.close();
    } finally {
      a.close();
      b.close();
    }
  });
});

describe('the System view', () => {
  it('reports depths over AMQP, readiness and rates from the services, and says what is not available', async () => {
    const read = async () => {
      const res = await api.app.inject({ url: '/console/api/system', headers: auth });
      expect(res.statusCode).toBe(200);
      return res.json();
    };
    fake.processed = 10;
    const first = await read();
    expect(first.services.map((s: { service: string }) => s.service)).toEqual([
      'order-api',
      'email',
      'whatsapp',
      'logistic',
      'payment',
      'fraud',
    ]);
    expect(first.sources.amqp).toEqual({ available: true, note: null });
    expect(first.sources.management).toEqual({
      available: false,
      note: 'RABBITMQ_MANAGEMENT_URL is not set',
    });
    expect(first.sources.readyz.available).toBe(false);
    expect(first.sources.readyz.note).toContain('whatsapp: not reachable');

    const byName = (s: { services: { service: string }[] }, n: string) =>
      s.services.find((x) => x.service === n) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON answer
    const email = byName(first, 'email');
    expect(email.queue).toBe('email');
    expect(email.readiness).toMatchObject({ status: 'ready', source: 'readyz', note: null });
    expect(email.depth).toEqual({ value: expect.any(Number), source: 'amqp', note: null });
    expect(email.consumers).toEqual({ value: 0, source: 'amqp', note: null });
    expect(email.retrying).toEqual({ value: 0, source: 'amqp', note: null });
    expect(email.deadLetters).toEqual({ value: 0, source: 'park', note: null });
    expect(first.sources.park).toEqual({ available: true, note: null });
    expect(email.brokerRates.publish).toEqual({
      value: null,
      source: 'management',
      note: 'RABBITMQ_MANAGEMENT_URL is not set',
    });
    const whatsapp = byName(first, 'whatsapp');
    expect(whatsapp.readiness.status).toBe('unknown');
    expect(whatsapp.readiness.note).toContain('not reachable');
    expect(whatsapp.messagesPerSecond).toMatchObject({ value: null, source: 'metrics' });
    expect(byName(first, 'order-api').readiness.status).toMatch(/^(ready|degraded)$/);

    // A second look a second or more later turns the counter's growth into a rate.
    fake.processed = 40;
    const later = await waitFor(
      async () => {
        const s = await read();
        return byName(s, 'email').messagesPerSecond.value !== null ? s : null;
      },
      { timeoutMs: 30_000, intervalMs: 250, what: 'a rate from two samples' },
    );
    expect(byName(later, 'email').messagesPerSecond.value).toBeGreaterThan(0);
    expect(byName(later, 'email').messagesPerSecond.note).toBeNull();

    fake.ready = false;
    const unready = await waitFor(
      async () => {
        const s = await read();
        return byName(s, 'email').readiness.status === 'not ready' ? s : null;
      },
      { timeoutMs: 30_000, intervalMs: 250, what: 'email not ready' },
    );
    expect(byName(unready, 'email').readiness.checks).toEqual({ broker: false });
    fake.ready = true;
  });
});

describe('the System view counts dead letters in the park', () => {
  it("shows a service's parked dead letters, which the broker's drained dead-letter queue no longer holds", async () => {
    const pool = createPool({ url: db.url, schema: 'order_api', max: 1 });
    try {
      const park = new ParkedLetters(pool);
      for (const id of ['dl-1', 'dl-2']) {
        await park.park({
          queue: 'payment.dlq',
          messageId: id,
          exchange: 'notification',
          routingKey: 'payment',
          properties: { type: 'notification.payment' },
          headers: {},
          body: Buffer.from('{}'),
          reason: 'invalid-json',
          detail: null,
          deadLetteredAt: new Date(),
          firstDeath: null,
          attempts: 1,
          replays: 0,
          publishedBy: null,
        });
      }
      const status = await waitFor(
        async () => {
          const res = await api.app.inject({ url: '/console/api/system', headers: auth });
          const payment = (
            res.json() as { services: { service: string; deadLetters: { value: number } }[] }
          ).services.find((x) => x.service === 'payment');
          return payment?.deadLetters.value === 2 ? res.json() : null;
        },
        { timeoutMs: 30_000, intervalMs: 250, what: 'two parked payment dead letters in the System view' },
      );
      const byName = (n: string) =>
        (status.services as { service: string; deadLetters: unknown }[]).find((x) => x.service === n);
      expect(byName('payment')?.deadLetters).toEqual({ value: 2, source: 'park', note: null });
      expect(byName('email')?.deadLetters).toEqual({ value: 0, source: 'park', note: null });
      await pool.query("DELETE FROM parked_letters WHERE queue = 'payment.dlq'");
    } finally {
      await pool.end();
    }
  });
});

describe('the order API without the console page', () => {
  it('starts, says in its log that the console is disabled, and still answers the console API', async () => {
    const [vh2, db2] = await Promise.all([
      createTestVhost('order-console-off'),
      createTestDatabase('order_console_off'),
    ]);
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) });
    const { startOrderApi } = await import('../server.js');
    const off = await startOrderApi(
      {
        PORT: '0',
        OPS_PORT: '0',
        HOST: '127.0.0.1',
        AMQP_URL: vh2.url,
        DATABASE_URL: db2.url,
        CONSOLE_ASSETS_DIR: join(assetsDir, 'not-built'),
        RATE_LIMIT_MAX: '0',
        RABBITMQ_MANAGEMENT_URL: MANAGEMENT_URL,
      },
      { logger },
    );
    try {
      const warning = lines.map((l) => JSON.parse(l)).find((l) => /console disabled/.test(l.msg));
      expect(warning).toMatchObject({ level: 40, component: 'console' });
      expect(warning.reason).toContain('index.html does not exist');
      const page = await off.app.inject({ url: '/console/' });
      expect(page.statusCode).toBe(503);
      expect(page.json().detail).toContain('not built');
      const system = await off.app.inject({ url: '/console/api/system' });
      expect(system.statusCode).toBe(200);
      // With the management API configured and reachable, its rates are used too.
      expect(system.json().sources.management).toEqual({ available: true, note: null });
    } finally {
      await off.stop();
      await vh2.delete();
      await db2.drop();
    }
  });
});
