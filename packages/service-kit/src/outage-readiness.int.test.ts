import { randomUUID } from 'node:crypto';
import { channelConsumers, exampleMessages, fullTopology, notifications } from '@notify/contracts';
import { Broker, declareTopology, Fates, Publisher } from '@notify/messaging';
import { createTestVhost, waitFor } from '@notify/messaging/testing';
import type { TestVhost } from '@notify/messaging/testing';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { channelConsumer } from './service-consumer.js';
import { startService } from './start-service.js';
import type { RunningService, ServiceDefinition } from './start-service.js';
import { createTestDatabase } from './testing/index.js';
import type { TestDatabase } from './testing/index.js';

const silent = pino({ level: 'silent' });
let db: TestDatabase;
const vhosts: TestVhost[] = [];
beforeAll(async () => {
  db = await createTestDatabase('kitoutage');
});
afterAll(async () => {
  for (const v of vhosts) await v.delete();
  await db?.drop();
});

async function vhost(): Promise<TestVhost> {
  const v = await createTestVhost('kitoutage');
  vhosts.push(v);
  return v;
}

interface Readyz {
  readonly status: string;
  readonly checks: Record<string, boolean>;
  readonly reasons?: Record<string, string>;
}

/** Reads /readyz until its answer fits `wanted`, and returns that answer. */
function readyzUntil(
  service: RunningService<unknown>,
  wanted: (answer: { code: number; body: Readyz }) => boolean,
  what: string,
): Promise<{ code: number; body: Readyz }> {
  return waitFor(
    async () => {
      const r = await fetch(`${service.url}/readyz`);
      const answer = { code: r.status, body: (await r.json()) as Readyz };
      return wanted(answer) ? answer : null;
    },
    { what },
  );
}

function fraudService(
  handle: () => Promise<ReturnType<typeof Fates.unavailable> | void>,
): ServiceDefinition<unknown> {
  return {
    service: { name: 'kit-outage', port: 0, schema: 'kit_outage' },
    config: () => ({}),
    setup: async () => ({ consumers: [channelConsumer('fraud', { handle })] }),
  };
}

describe('readiness of a consumer service', () => {
  it('reports a paused consumer as not ready, naming the dependency and why, and is ready again by itself once it is back', async () => {
    const vh = await vhost();
    let down = true;
    const service = await startService(
      fraudService(async () => (down ? Fates.unavailable('database', 'connection refused') : undefined)),
      { AMQP_URL: vh.url, DATABASE_URL: db.url, PORT: '0', HOST: '127.0.0.1' },
      { logger: silent, pause: { initialDelayMs: 20, maxDelayMs: 100 } },
    );
    try {
      await service.ready();
      const broker = await Broker.connect({ url: vh.url, connectionName: 'kit-outage-test' });
      const publisher = new Publisher(broker);
      const orderId = randomUUID();
      await publisher.publish(
        notifications.fraud,
        { ...exampleMessages.fraud, orderId },
        { messageId: `${orderId}:fraud`, correlationId: orderId },
      );
      await publisher.close();
      await broker.close();

      const paused = await readyzUntil(service, (r) => r.code === 503, 'not ready for the outage');
      expect(paused.body).toEqual({
        status: 'not ready',
        checks: { broker: true, database: true, consumer: false },
        reasons: { consumer: 'database unavailable: connection refused' },
      });

      down = false;
      const ready = await readyzUntil(service, (r) => r.code === 200, 'ready again');
      expect(ready.body).toEqual({
        status: 'ready',
        checks: { broker: true, database: true, consumer: true },
      });
      expect(service.inFlight()).toBe(0);
    } finally {
      await service.stop();
    }
  });

  it('with TOPOLOGY=verify, declares nothing, is not ready naming what is missing, and is ready by itself once a deployment created it', async () => {
    const vh = await vhost();
    const fraud = channelConsumers.fraud;
    // What a production fraud service may do: no configure at all, publish to its own
    // exchanges and order.events, consume its queue.
    const url = await vh.addUser('fraud', {
      configure: '^$',
      write: '^(fraud\\.retry|fraud\\.dlx|order\\.events)$',
      read: '^fraud$',
    });
    const service = await startService(
      fraudService(async () => undefined),
      { AMQP_URL: url, DATABASE_URL: db.url, PORT: '0', HOST: '127.0.0.1', TOPOLOGY: 'verify' },
      { logger: silent },
    );
    try {
      const missing = await readyzUntil(
        service,
        (r) => Boolean(r.body.reasons?.['topology']),
        'the missing topology reported',
      );
      expect(missing.code).toBe(503);
      expect(missing.body.checks).toMatchObject({ topology: false, consumer: false });
      const reason = missing.body.reasons!['topology']!;
      for (const q of fraud.queues) expect(reason).toContain(`queue ${q.name}`);
      for (const e of fraud.exchanges) expect(reason).toContain(`exchange ${e.name}`);
      expect(reason).toContain('exchange notification');
      expect(await vh.queues()).toEqual([]);

      const admin = await Broker.connect({ url: vh.url, connectionName: 'deployment' });
      try {
        const ch = await (await admin.waitUntilConnected()).createChannel();
        await declareTopology(ch, fullTopology());
        await ch.close();
      } finally {
        await admin.close();
      }
      const ready = await readyzUntil(service, (r) => r.code === 200, 'ready once the topology exists');
      expect(ready.body).toEqual({
        status: 'ready',
        checks: { broker: true, database: true, topology: true, consumer: true },
      });
    } finally {
      await service.stop();
    }
  });
});
