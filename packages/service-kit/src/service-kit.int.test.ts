import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { exampleMessages, notifications } from '@notify/contracts';
import { Broker, Publisher } from '@notify/messaging';
import { createTestVhost, waitFor } from '@notify/messaging/testing';
import type { TestVhost } from '@notify/messaging/testing';
import Fastify from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, httpTimeouts, loadConfig, str, url } from './config.js';
import { createPool } from './db.js';
import type { Pool } from './db.js';
import { channelConsumer } from './service-consumer.js';
import { startService } from './start-service.js';
import type { RunningService } from './start-service.js';
import { createTestDatabase } from './testing/index.js';
import type { TestDatabase } from './testing/index.js';

let vh: TestVhost;
let db: TestDatabase;
const silent = pino({ level: 'silent' });
const env = () => ({ AMQP_URL: vh.url, DATABASE_URL: db.url, PORT: '0', OPS_PORT: '0' });
beforeAll(async () => {
  [vh, db] = await Promise.all([createTestVhost('kit'), createTestDatabase('kit')]);
});
afterAll(async () => {
  await vh?.delete();
  await db?.drop();
});

describe('loadConfig', () => {
  it('names every missing or malformed variable and never echoes a value', () => {
    const err = (() => {
      try {
        loadConfig({ SMTP_URL: url(), MAIL_FROM: str() }, { SMTP_URL: 'not a url secret-value' });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toContain('MAIL_FROM is required');
    expect((err as ConfigError).message).toContain('SMTP_URL is invalid');
    expect((err as ConfigError).message).not.toContain('secret-value');
  });
});

describe('startService', () => {
  it('migrates, consumes, reports ready, and stops after draining', async () => {
    const handled: string[] = [];
    const service = await startService(
      {
        service: { name: 'kit-fraud', port: 0, schema: 'kit_fraud' },
        migrationsDir: fileURLToPath(new URL('./test-fixtures/migrations', import.meta.url)),
        config: () => ({}),
        setup: async ({ pool }) => ({
          consumers: [
            channelConsumer('fraud', {
              handle: async ({ payload, ctx }) => {
                await pool.query('INSERT INTO seen (message_id, order_id) VALUES ($1, $2)', [
                  ctx.messageId,
                  payload.orderId,
                ]);
                handled.push(ctx.messageId);
              },
              alreadyProcessed: async (ctx) =>
                (await pool.query('SELECT 1 FROM seen WHERE message_id = $1', [ctx.messageId])).rowCount ===
                1,
            }),
          ],
        }),
      },
      env(),
      { logger: silent },
    );
    try {
      const ready = await waitFor(
        async () => {
          const r = await fetch(`http://127.0.0.1:${service.port}/readyz`);
          return r.status === 200 ? r.json() : null;
        },
        { what: 'ready' },
      );
      expect(ready).toMatchObject({
        status: 'ready',
        checks: { broker: true, consumer: true, database: true },
      });

      // Every pooled connection busy (handlers waiting on locks) is load, not an outage:
      // the service stays ready.
      const held = await Promise.all(Array.from({ length: 10 }, () => service.infra.pool.connect()));
      try {
        const busy = await fetch(`http://127.0.0.1:${service.port}/readyz`);
        expect(busy.status).toBe(200);
        expect(await busy.json()).toMatchObject({ checks: { database: true } });
      } finally {
        for (const c of held) c.release();
      }

      const broker = await Broker.connect({ url: vh.url, connectionName: 'kit-test' });
      const publisher = new Publisher(broker);
      const orderId = randomUUID();
      for (let i = 0; i < 2; i++) {
        await publisher.publish(
          notifications.fraud,
          { ...exampleMessages.fraud, orderId },
          { messageId: `${orderId}:fraud`, correlationId: orderId },
        );
      }
      // Settled when the runner has counted both deliveries: the first handled, the second
      // a duplicate (queue statistics lag, so they are not the signal).
      const metrics = await waitFor(
        async () => {
          const text = await (await fetch(`http://127.0.0.1:${service.port}/metrics`)).text();
          return /messages_processed_total\{[^}]*outcome="duplicate"[^}]*\} 1/.test(text) ? text : undefined;
        },
        { what: 'the duplicate counted' },
      );
      expect(metrics).toMatch(/messages_processed_total\{[^}]*outcome="ack"[^}]*\} 1/);
      expect(handled).toEqual([`${orderId}:fraud`]);
      await publisher.close();
      await broker.close();
    } finally {
      await service.stop();
    }
    expect(service.consumers.map((c) => c.isConsuming)).toEqual([false]);
  });

  it('stops in the reverse order of starting: consumers, HTTP, tasks, then adapters', async () => {
    const events: string[] = [];
    const running: { service?: RunningService<unknown> } = {};
    const state = () =>
      `http ${running.service?.app.server.listening ? 'open' : 'closed'}, consuming ${String(running.service?.consumers[0]?.isConsuming)}`;
    const service = await startService(
      {
        service: { name: 'kit-order', port: 0, schema: 'kit_order' },
        config: () => ({}),
        setup: async () => ({
          consumers: [channelConsumer('logistic', { handle: async () => undefined })],
          tasks: ['first', 'second'].map((name) => ({
            name,
            start: () => events.push(`start ${name}: ${state()}`),
            stop: async () => events.push(`stop ${name}: ${state()}`),
          })),
          close: async () => {
            events.push(`close adapters: ${state()}`);
          },
        }),
      },
      env(),
      { logger: silent },
    );
    running.service = service;
    await service.ready();
    events.push(`started: ${state()}`);
    await service.stop();
    expect(events).toEqual([
      'start first: http closed, consuming undefined',
      'start second: http closed, consuming undefined',
      'started: http open, consuming true',
      'stop second: http closed, consuming false',
      'stop first: http closed, consuming false',
      'close adapters: http closed, consuming false',
    ]);
  });

  it("serves the readiness rule on a loopback operations listener apart from the service's own app; a broker it only reports degrades it", async () => {
    const service = await startService(
      {
        service: { name: 'kit-api', port: 0, schema: 'kit_api' },
        config: () => ({}),
        readiness: { reportOnly: ['broker'] },
        setup: async () => {
          const app = Fastify();
          app.get('/orders', async () => []);
          return { app };
        },
      },
      // Nothing listens on the discard port: the broker never connects. HOST and OPS_HOST
      // are left to their defaults, which bind loopback only.
      { ...env(), AMQP_URL: 'amqp://guest:guest@127.0.0.1:9' },
      { logger: silent },
    );
    try {
      expect(service.ops).not.toBe(service.app);
      expect(service.opsPort).not.toBe(service.port);
      expect(service.ops.server.address()).toMatchObject({ address: '127.0.0.1', port: service.opsPort });
      expect(service.app.server.address()).toMatchObject({ address: '127.0.0.1', port: service.port });
      expect((await fetch(`${service.url}/orders`)).status).toBe(200);
      for (const path of ['/healthz', '/readyz', '/metrics']) {
        expect((await fetch(`${service.url}${path}`)).status, path).toBe(404);
      }
      const ready = await fetch(`${service.opsUrl}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ status: 'degraded', checks: { broker: false, database: true } });
      expect((await fetch(`${service.opsUrl}/healthz`)).status).toBe(200);
      expect(await (await fetch(`${service.opsUrl}/metrics`)).text()).toContain('process_cpu');
      expect((await fetch(`${service.opsUrl}/orders`)).status).toBe(404);
    } finally {
      await service.stop();
    }
  });

  it('sets the HTTP timeouts of every listener from HTTP_*_TIMEOUT, and closes a connection that stays silent', async () => {
    const service = await startService(
      {
        service: { name: 'kit-timeouts', port: 0, schema: 'kit_timeouts' },
        config: () => ({}),
        readiness: { reportOnly: ['broker'] },
        // A service's own app takes its timeouts from the same variables (the order API does).
        setup: async ({ common }) => ({ app: Fastify(httpTimeouts(common)) }),
      },
      {
        ...env(),
        AMQP_URL: 'amqp://guest:guest@127.0.0.1:9',
        HTTP_REQUEST_TIMEOUT: '7s',
        HTTP_CONNECTION_TIMEOUT: '300',
        HTTP_KEEP_ALIVE_TIMEOUT: '4s',
      },
      { logger: silent },
    );
    try {
      for (const server of [service.app.server, service.ops.server]) {
        expect(server.requestTimeout).toBe(7_000);
        expect(server.keepAliveTimeout).toBe(4_000);
        expect(server.timeout).toBe(300);
      }
      // A client that connects and sends nothing is hung up on, not kept forever.
      for (const port of [service.port, service.opsPort]) {
        const socket = net.connect(port, '127.0.0.1');
        await new Promise<void>((resolve, reject) => {
          socket.once('close', () => resolve());
          socket.once('error', reject);
        });
      }
    } finally {
      await service.stop();
    }
  });

  it('an app that answers the operations routes itself does not start, and leaves no connection open', async () => {
    const opened: { pool?: Pool; broker?: Broker } = {};
    await expect(
      startService(
        {
          service: { name: 'kit-noops', port: 0, schema: 'kit_noops' },
          config: () => ({}),
          // A session in the work pool and a live broker connection, so either left open would show.
          setup: async ({ pool, broker }) => {
            Object.assign(opened, { pool, broker });
            await pool.query('SELECT 1');
            await broker.waitUntilConnected();
            const app = Fastify();
            app.get('/readyz', async () => ({ status: 'ready' }));
            return { app };
          },
        },
        env(),
        { logger: silent },
      ),
    ).rejects.toThrow(/answers GET \/readyz: the operations listener \(OPS_PORT\) serves it/);
    expect(opened.pool?.ended).toBe(true);
    expect(opened.broker?.state).toBe('closed');
    const admin = createPool({ url: db.url, schema: 'public', max: 1 });
    try {
      // A backend may outlive its closed socket by a moment.
      await waitFor(
        async () =>
          (await admin.query("SELECT 1 FROM pg_stat_activity WHERE application_name LIKE 'kit-noops%'"))
            .rowCount === 0,
        { what: 'no session of the failed start left' },
      );
    } finally {
      await admin.end();
    }
  });
});
