import { randomUUID } from 'node:crypto';
import {
  channelConsumers,
  exampleMessages,
  HEADERS,
  notifications,
  orderEventsConsumer,
} from '@notify/contracts';
import type { EmailMessage } from '@notify/contracts';
import { describe, expect, it } from 'vitest';
import { DeadLetterDrain, republishLetter } from './dead-letters.js';
import type { CapturedLetter } from './dead-letters.js';
import { brokerHarness } from './test-harness.js';
import { waitFor } from './testing/index.js';

const h = brokerHarness('deadletters');

function emailFor(orderId: string): EmailMessage {
  return { ...structuredClone(exampleMessages.email), orderId };
}

describe('dead-letter drain', () => {
  it('parks a message the broker dead-lettered past its delivery limit with the routing key it was published with, and a replay carries that key back', async () => {
    const { broker, publisher } = await h.connect('dlq-broker-death');
    const events = orderEventsConsumer;
    const messageId = randomUUID();
    await publisher.publishRaw({
      exchange: 'order.events',
      routingKey: 'email.sent',
      content: Buffer.from('{"orderId":"x"}'),
      properties: { messageId, type: 'email.sent.v1', contentType: 'application/json' },
    });
    // A consumer that gives the message back until the broker gives up on it (the work
    // queue's delivery limit), which dead-letters it under the queue's own routing key.
    const conn = broker.connection()!;
    const returner = await conn.createChannel();
    h.cleanup(() => returner.close().catch(() => undefined));
    await returner.prefetch(1);
    await returner.consume(events.queue.name, (m) => m && returner.nack(m, false, true), { noAck: false });
    await waitFor(async () => (await h.ready(events.deadLetterQueue.name)) === 1 || undefined, {
      what: 'the broker to dead-letter the event past its delivery limit',
    });
    await returner.close();

    const parked: CapturedLetter[] = [];
    const drain = new DeadLetterDrain(broker, {
      queue: events.deadLetterQueue.name,
      park: async (l) => void parked.push(l),
    });
    h.cleanup(() => drain.stop());
    await drain.start();
    await waitFor(
      async () => (parked.length === 1 && (await h.ready(events.deadLetterQueue.name)) === 0) || undefined,
      {
        what: 'the dead letter parked and gone from its queue',
      },
    );
    const letter = parked[0]!;
    expect(letter).toMatchObject({
      queue: events.deadLetterQueue.name,
      messageId,
      routingKey: 'email.sent',
      reason: 'broker-delivery_limit',
      firstDeath: { queue: events.queue.name, reason: 'delivery_limit', exchange: 'order.events' },
    });
    expect(letter.body.toString()).toBe('{"orderId":"x"}');

    // Replayed through the consumer's own path, it says which event it is again.
    const check = await conn.createChannel();
    h.cleanup(() => check.close().catch(() => undefined));
    await republishLetter(publisher, letter, {
      exchange: events.retryExchange.name,
      routingKey: events.workRoutingKey,
    });
    const got = await waitFor(
      async () => (await check.get(events.queue.name, { noAck: true })) || undefined,
      { what: 'the replayed event in the work queue' },
    );
    const headers = got.properties.headers as Record<string, unknown>;
    expect(got.properties.messageId).toBe(messageId);
    expect(got.fields.routingKey).toBe(events.queue.name);
    expect(headers[HEADERS.routingKey]).toBe('email.sent');
    expect(headers['x-replay-count']).toBe(1);
    expect(headers['x-death']).toBeUndefined();
    expect(headers[HEADERS.attempt]).toBe(1);
  });

  it('with its store down, holds what it caught without giving it back, and parks each message once when the store is back', async () => {
    const { broker, publisher } = await h.connect('dlq-store-down');
    const dlq = channelConsumers.email.deadLetterQueue.name;
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    for (const id of ids) {
      await publisher.publishRaw({
        exchange: channelConsumers.email.deadLetterExchange.name,
        routingKey: channelConsumers.email.deadLetterRoutingKey,
        content: Buffer.from(JSON.stringify(emailFor(id))),
        properties: {
          messageId: `${id}:email`,
          correlationId: id,
          type: notifications.email.type,
          headers: { [HEADERS.deathReason]: 'permanent-failure', [HEADERS.deathDetail]: '550 5.1.1' },
        },
      });
    }
    let storeUp = false;
    let tries = 0;
    const parked = new Map<string, CapturedLetter>();
    const drain = new DeadLetterDrain(broker, {
      queue: dlq,
      prefetch: 2,
      pause: { initialDelayMs: 20, maxDelayMs: 100 },
      park: async (l) => {
        tries++;
        if (!storeUp) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
        parked.set(`${l.queue}/${l.messageId}`, l);
      },
    });
    h.cleanup(() => drain.stop());
    await drain.start();
    await waitFor(async () => (drain.status.state === 'paused' && tries >= 4) || undefined, {
      what: 'the drain paused, trying again',
    });
    expect(drain.status).toMatchObject({ state: 'paused', dependency: 'database' });
    expect(drain.isConsuming).toBe(false);
    // It holds the first window; the rest wait in the queue, none given back.
    expect(await h.ready(dlq)).toBe(1);
    storeUp = true;
    await waitFor(async () => (parked.size === 3 && (await h.ready(dlq)) === 0) || undefined, {
      what: 'all three parked',
    });
    await waitFor(async () => drain.status.state === 'consuming' || undefined, { what: 'consuming again' });
    expect([...parked.values()].map((l) => l.reason)).toEqual(Array(3).fill('permanent-failure'));
  });
});
