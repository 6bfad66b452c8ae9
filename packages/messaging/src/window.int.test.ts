import { randomUUID } from 'node:crypto';
import {
  channelConsumers,
  exampleMessages,
  EXCHANGES,
  fullTopology,
  HEADERS,
  notifications,
} from '@notify/contracts';
import amqplib from 'amqplib';
import { describe, expect, it } from 'vitest';
import { Consumer } from './consumer.js';
import { PermanentError } from './errors.js';
import { brokerHarness } from './test-harness.js';
import { waitFor } from './testing/index.js';
import type { TestVhost } from './testing/index.js';

const h = brokerHarness('window');

async function purgeAll() {
  const conn = await amqplib.connect(h.vh.url);
  const ch = await conn.createChannel();
  for (const q of fullTopology().queues) await ch.purgeQueue(q.name).catch(() => undefined);
  await conn.close();
}

describe('window mode on the broker', () => {
  it('when one message of a window is poison, the others settle once and the poison is dead-lettered with its reason', async () => {
    const { broker, publisher } = await h.connect('window-poison');
    await purgeAll();
    const good = Array.from({ length: 7 }, (_, i) => `good-${i + 1}`);
    const ids = [...good.slice(0, 3), 'poison', ...good.slice(3)];
    // The backlog is in the queue before the consumer attaches, so the broker hands it
    // over as one prefetch window.
    for (const id of ids) {
      const orderId = randomUUID();
      await publisher.publish(
        notifications.email,
        { ...structuredClone(exampleMessages.email), orderId },
        { messageId: id, correlationId: orderId },
      );
    }
    await publisher.publishRaw({
      exchange: EXCHANGES.notification.name,
      routingKey: 'email',
      content: Buffer.from('{not json'),
      properties: { messageId: 'garbled', type: notifications.email.type },
    });

    const effects = new Map<string, number>();
    const windows: string[][] = [];
    const commit = (id: string) => effects.set(id, (effects.get(id) ?? 0) + 1);
    const consumer = new Consumer(broker, {
      topology: channelConsumers.email,
      contracts: [notifications.email],
      publisher,
      prefetch: 20,
      handler: async ({ ctx }) => {
        if (ctx.messageId === 'poison') throw new PermanentError('recipient refused by policy');
        commit(ctx.messageId);
      },
      window: {
        // Like one transaction: either every message's effect is committed, or none is.
        handle: async (deliveries) => {
          const batch = deliveries.map((d) => d.ctx.messageId);
          windows.push(batch);
          if (batch.includes('poison')) throw new Error('the window transaction rolled back');
          batch.forEach(commit);
          return batch.map(() => undefined);
        },
      },
    });
    h.cleanup(() => consumer.stop());
    await consumer.start();

    const dead: Awaited<ReturnType<TestVhost['take']>> = [];
    await waitFor(
      async () => {
        dead.push(...(await h.vh.take('email.dlq', 10)));
        return dead.length >= 2 && good.every((id) => effects.has(id));
      },
      { what: 'every good message handled and two dead letters', timeoutMs: 30_000 },
    );
    await waitFor(() => consumer.active === 0, { what: 'every delivery settled' });

    expect(Math.max(...windows.map((w) => w.length))).toBeGreaterThan(1);
    expect(Object.fromEntries(effects)).toEqual(Object.fromEntries(good.map((id) => [id, 1])));
    const byId = Object.fromEntries(dead.map((m) => [m.properties.message_id, m.properties.headers ?? {}]));
    expect(byId['poison']?.[HEADERS.deathReason]).toBe('permanent-failure');
    expect(String(byId['poison']?.[HEADERS.deathDetail])).toContain('recipient refused by policy');
    expect(byId['garbled']?.[HEADERS.deathReason]).toBe('invalid-json');
    // Everything was acked: nothing waits in the queue, and closing gives nothing back.
    await consumer.stop();
    expect(await h.ready('email')).toBe(0);
    expect(await h.ready('email.dlq')).toBe(0);
  });
});
