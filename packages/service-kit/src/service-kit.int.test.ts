import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { exampleMessages, notifications } from '@notify/contracts';
import { Broker, Publisher } from '@notify/messaging';
import { createTestVhost, waitFor } from '@notify/messaging/testing';
import type { TestVhost } from '@notify/messaging/testing';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, str, url } from './config.js';
import { startConsumerService } from './consumer-service.js';
import { createTestDatabase } from './testing/index.js';
import type { TestDatabase } from './testing/index.js';

let vh: TestVhost;
let db: TestDatabase;
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

describe('startConsumerService', () => {
  it('migrates, consumes, reports ready, and stops after draining', async () => {
    const handled: string[] = [];
    const service = await startConsumerService(
      {
        name: 'kit-fraud',
        channel: 'fraud',
        defaultPort: 0,
        migrationsDir: fileURLToPath(new URL('./test-fixtures/migrations', import.meta.url)),
        config: () => ({}),
        setup: async ({ pool }) => ({
          handle: async ({ payload, ctx }) => {
            await pool.query('INSERT INTO seen (message_id, order_id) VALUES ($1, $2)', [
              ctx.messageId,
              payload.orderId,
            ]);
            handled.push(ctx.messageId);
          },
          alreadyProcessed: async (ctx) =>
            (await pool.query('SELECT 1 FROM seen WHERE message_id = $1', [ctx.messageId])).rowCount === 1,
        }),
      },
      { AMQP_URL: vh.url, DATABASE_URL: db.url, PORT: '0', HOST: '127.0.0.1' },
      { logger: pino({ level: 'silent' }) },
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
    expect(service.consumer.isConsuming).toBe(false);
  });
});
