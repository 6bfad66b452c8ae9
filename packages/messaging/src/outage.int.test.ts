import { randomUUID } from 'node:crypto';
import {
  channelConsumers,
  deliveryEvents,
  DELIVERY_LIMIT,
  EXCHANGES,
  exampleMessages,
  notifications,
  ORDER_EVENTS_QUEUE,
} from '@notify/contracts';
import amqplib from 'amqplib';
import { describe, expect, it } from 'vitest';
import { Consumer } from './consumer.js';
import { Fates } from './fate.js';
import type { Publisher } from './publisher.js';
import { brokerHarness } from './test-harness.js';
import { waitFor } from './testing/index.js';

// Run on each broker version (tools/rabbitmq4 for 4.x): RabbitMQ 4.0 counts every return
// of a message toward its queue's delivery limit, so an outage must not return any.

const h = brokerHarness('outage');

/** A short pause between tries, so an outage outlasts many tries quickly. */
const QUICK_PAUSE = { initialDelayMs: 10, maxDelayMs: 50, jitter: 0.2 };

async function publishEmails(publisher: Publisher, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const orderId = randomUUID();
    const messageId = `${orderId}:email`;
    await publisher.publish(
      notifications.email,
      { ...exampleMessages.email, orderId },
      { messageId, correlationId: orderId },
    );
    ids.push(messageId);
  }
  return ids;
}

describe('a dependency outage', () => {
  it('longer than the retry budget and the delivery limit pauses consumption: nothing is dead-lettered or returned, the backlog waits, and every message is handled once when the dependency is back', async () => {
    const { broker, publisher } = await h.connect('outage-db');
    const topology = channelConsumers.email;
    const total = 30;
    const prefetch = 5;
    const ids = await publishEmails(publisher, total);
    await waitFor(async () => (await h.ready(topology.queue.name)) === total, { what: 'the backlog' });

    let down = true;
    const tries = new Map<string, number>();
    const handled = new Map<string, number>();
    const deliveryCounts = new Set<unknown>();
    let redeliveries = 0;
    const consumer = new Consumer(broker, {
      topology,
      contracts: [notifications.email],
      publisher,
      prefetch,
      retry: { maxAttempts: 2, delaysMs: [20], jitter: 0 },
      pause: QUICK_PAUSE,
      handler: async ({ ctx }) => {
        tries.set(ctx.messageId, (tries.get(ctx.messageId) ?? 0) + 1);
        // RabbitMQ 3.10 says 0 on a first delivery, 4.x leaves the header out.
        deliveryCounts.add(ctx.headers['x-delivery-count'] ?? 0);
        if (ctx.redelivered) redeliveries++;
        if (down) return Fates.unavailable('database', 'connection refused');
        handled.set(ctx.messageId, (handled.get(ctx.messageId) ?? 0) + 1);
      },
    });
    h.cleanup(() => consumer.stop());
    await consumer.start();

    // Far more tries than the retry policy allows attempts, and than the queue's delivery
    // limit allows returns.
    await waitFor(() => Math.max(0, ...tries.values()) > DELIVERY_LIMIT + 1, {
      what: `a held message tried more than ${DELIVERY_LIMIT + 1} times`,
      timeoutMs: 60_000,
    });
    expect(consumer.status).toMatchObject({
      state: 'paused',
      dependency: 'database',
      reason: 'connection refused',
      held: prefetch,
    });
    expect(consumer.isConsuming).toBe(false);
    expect(tries.size).toBe(prefetch);
    expect(await h.ready(topology.queue.name)).toBe(total - prefetch);
    expect(await h.ready(topology.deadLetterQueue.name)).toBe(0);
    for (const q of topology.retryQueues) expect(await h.ready(q.name), q.name).toBe(0);

    down = false;
    await waitFor(() => handled.size === total, { what: 'every message handled', timeoutMs: 60_000 });
    await waitFor(() => consumer.status.state === 'consuming' && consumer.active === 0, {
      what: 'consuming again with nothing in flight',
    });
    expect([...handled.keys()].sort()).toEqual([...ids].sort());
    expect([...handled.values()].every((n) => n === 1)).toBe(true);
    expect(await h.ready(topology.queue.name)).toBe(0);
    expect(await h.ready(topology.deadLetterQueue.name)).toBe(0);
    // Not one return: every delivery was the message's first.
    expect([...deliveryCounts]).toEqual([0]);
    expect(redeliveries).toBe(0);
  });

  it('keeps a dead-lettered message until its dead-lettered event is published, dead-lettering it only once', async () => {
    const { broker, publisher } = await h.connect('outage-event');
    const topology = channelConsumers.email;
    const contract = deliveryEvents.email.deadLettered;
    const eventsBinding = [ORDER_EVENTS_QUEUE, EXCHANGES.events.name, '#'] as const;
    const admin = await amqplib.connect(h.vh.url);
    h.cleanup(() => admin.close());
    const ch = await admin.createChannel();
    // With no queue bound for it, the mandatory event publish is returned: it fails.
    await ch.unbindQueue(...eventsBinding);
    h.cleanup(() => ch.bindQueue(...eventsBinding));

    let published = 0;
    const consumer = new Consumer(broker, {
      topology,
      contracts: [notifications.email],
      publisher,
      pause: QUICK_PAUSE,
      handler: async () => Fates.deadLetter('mailbox unknown', '550 5.1.1'),
      observer: {
        onDeadLettered: async (info) => {
          await publisher.publish(
            contract,
            {
              orderId: info.correlationId!,
              occurredAt: new Date().toISOString(),
              channel: 'email',
              attempts: info.attempts,
              reason: info.reason,
            },
            { messageId: `${info.correlationId}:email:deadLettered`, correlationId: info.correlationId! },
          );
          published++;
        },
      },
    });
    h.cleanup(() => consumer.stop());
    await consumer.start();
    await publishEmails(publisher, 1);

    await waitFor(() => consumer.status.state === 'paused', { what: 'paused for the event' });
    expect(consumer.status).toMatchObject({ dependency: 'broker' });
    expect(consumer.status.state === 'paused' && consumer.status.reason).toContain('returned');
    await waitFor(async () => (await h.ready(topology.deadLetterQueue.name)) === 1, {
      what: 'the dead letter',
    });
    // Held, not acked: the work queue still has it, though none is ready.
    expect(await h.ready(topology.queue.name)).toBe(0);
    expect(consumer.active).toBe(1);

    await ch.bindQueue(...eventsBinding);
    await waitFor(() => published === 1, { what: 'the dead-lettered event published' });
    await waitFor(() => consumer.status.state === 'consuming' && consumer.active === 0, {
      what: 'the message acked',
    });
    expect(await h.ready(ORDER_EVENTS_QUEUE)).toBe(1);
    expect(await h.ready(topology.deadLetterQueue.name)).toBe(1);
    const [event] = await h.vh.take(ORDER_EVENTS_QUEUE, 10);
    expect(event?.properties.type).toBe(contract.type);
  });
});
