import { randomUUID } from 'node:crypto';
import { exampleMessages, notifications } from '@notify/contracts';
import { createTestVhost, waitFor } from '@notify/messaging/testing';
import type { TestVhost } from '@notify/messaging/testing';
import type { RunningService } from '@notify/service-kit';
import { createTestDatabase, TcpProxy, tapOrderEvents } from '@notify/service-kit/testing';
import type { OrderEventsTap, TestDatabase } from '@notify/service-kit/testing';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogisticConfig } from './config.js';
import { startLogisticService } from './service.js';

// The service's PostgreSQL goes away (a TCP proxy in front of it is cut) with messages
// waiting. With a retry budget of two quick attempts, failing into the retry path would
// dead-letter all of them in well under a second; an outage must pause consumption
// instead, and every message must go through once when the database is back.

let vh: TestVhost;
let db: TestDatabase;
let proxy: TcpProxy;
let service: RunningService<LogisticConfig>;
let tap: OrderEventsTap;

beforeAll(async () => {
  [vh, db] = await Promise.all([createTestVhost('logistic-outage'), createTestDatabase('logistic_outage')]);
  const direct = new URL(db.url);
  proxy = await TcpProxy.start({ host: direct.hostname, port: Number(direct.port || 5432) });
  const proxied = new URL(db.url);
  proxied.host = `127.0.0.1:${proxy.port}`;
  service = await startLogisticService(
    {
      AMQP_URL: vh.url,
      DATABASE_URL: proxied.toString(),
      PORT: '0',
      HOST: '127.0.0.1',
      NODE_ENV: 'test',
      RETRY_MAX_ATTEMPTS: '2',
      RETRY_DELAYS_MS: '50',
    },
    { logger: pino({ level: 'silent' }), pause: { initialDelayMs: 50, maxDelayMs: 200 } },
  );
  await service.ready();
  tap = await tapOrderEvents(vh, 'logistic-outage-test');
});

afterAll(async () => {
  await service?.stop();
  await tap?.close();
  await proxy?.cut();
  await vh?.delete();
  await db?.drop();
});

interface Readyz {
  status: string;
  checks: Record<string, boolean>;
  reasons?: Record<string, string>;
}

async function readyz(): Promise<{ code: number; body: Readyz }> {
  const r = await fetch(`${service.url}/readyz`);
  return { code: r.status, body: (await r.json()) as Readyz };
}

describe('logistic service with its database unreachable', () => {
  it('pauses consumption naming the database, dead-letters and retries nothing, and creates every shipment once when it is back', async () => {
    await proxy.cut();
    const orderIds = [randomUUID(), randomUUID(), randomUUID()];
    for (const orderId of orderIds) {
      await tap.publisher.publish(
        notifications.logistic,
        { ...structuredClone(exampleMessages.logistic), orderId },
        { messageId: `${orderId}:logistic`, correlationId: orderId },
      );
    }
    const paused = await waitFor(
      async () => {
        const r = await readyz();
        return r.code === 503 && r.body.reasons?.consumer ? r : undefined;
      },
      { what: 'not ready, with the consumer paused for the database' },
    );
    expect(paused.body.checks).toMatchObject({ consumer: false, database: false });
    expect(paused.body.reasons?.consumer).toMatch(/^database unavailable: /);
    expect(service.consumers[0]!.status).toMatchObject({ state: 'paused', dependency: 'database' });
    expect((await vh.queue('logistic.dlq'))?.messages).toBe(0);
    for (let level = 1; level <= 5; level++) {
      expect((await vh.queue(`logistic.retry.${level}`))?.messages, `retry level ${level}`).toBe(0);
    }

    await proxy.restore();
    for (const orderId of orderIds) {
      const created = await tap.eventsFor(orderId, 'shipment.created', 1);
      expect(created).toHaveLength(1);
    }
    await waitFor(async () => ((await readyz()).code === 200 ? true : undefined), { what: 'ready again' });
    await waitFor(async () => ((await vh.queue('logistic'))?.messages === 0 ? true : undefined), {
      what: 'the queue drained',
    });
    expect((await vh.queue('logistic.dlq'))?.messages).toBe(0);
  });
});
