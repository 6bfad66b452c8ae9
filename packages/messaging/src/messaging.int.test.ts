import { randomUUID } from 'node:crypto';
import {
  channelConsumers,
  exampleMessages,
  EXCHANGES,
  fullTopology,
  HEADERS,
  notifications,
  UNROUTABLE_QUEUE,
} from '@notify/contracts';
import type { EmailMessage } from '@notify/contracts';
import amqplib from 'amqplib';
import { describe, expect, it } from 'vitest';
import { Consumer } from './consumer.js';
import type { Delivery } from './consumer.js';
import { PermanentError, RetryableError, UnroutableError } from './errors.js';
import type { DeadLetteredInfo } from './observer.js';
import { brokerHarness } from './test-harness.js';
import { waitFor } from './testing/index.js';
import type { TestVhost } from './testing/index.js';

const h = brokerHarness('messaging');

function emailFor(orderId: string): EmailMessage {
  return { ...structuredClone(exampleMessages.email), orderId };
}

async function purgeAll() {
  const conn = await amqplib.connect(h.vh.url);
  const ch = await conn.createChannel();
  for (const q of fullTopology().queues) await ch.purgeQueue(q.name).catch(() => undefined);
  await conn.close();
}

describe('publisher', () => {
  it('a confirmed publish reaches exactly the queue bound to its routing key', async () => {
    const { publisher } = await h.connect('pub-bound');
    await purgeAll();
    const orderId = randomUUID();
    await publisher.publish(notifications.email, emailFor(orderId), {
      messageId: `${orderId}:email`,
      correlationId: orderId,
    });
    const got = await waitFor(async () => (await h.vh.take('email', 10)).at(0), {
      what: 'message in email queue',
    });
    expect(JSON.parse(got.payload).orderId).toBe(orderId);
    expect(got.properties.message_id).toBe(`${orderId}:email`);
    expect(got.properties.type).toBe('notification.email.v1');
    expect(got.properties.correlation_id).toBe(orderId);
    expect(got.properties.content_type).toBe('application/json');
    expect(got.properties.app_id).toBe('pub-bound');
    expect(got.properties.delivery_mode).toBe(2);
    expect(got.properties.headers?.[HEADERS.traceparent]).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    for (const q of ['whatsapp', 'logistic', 'payment', 'fraud', UNROUTABLE_QUEUE.name]) {
      expect((await h.vh.queue(q))?.messages, q).toBe(0);
    }
  });

  it('refuses to publish a payload that does not fit its contract', async () => {
    const { publisher } = await h.connect('pub-invalid');
    const bad = { ...emailFor(randomUUID()), locale: 'xx-XX' } as unknown as EmailMessage;
    await expect(publisher.publish(notifications.email, bad, { messageId: 'm1' })).rejects.toThrow(
      /\/locale/,
    );
  });

  it('an unroutable publish to notification lands in the alternate exchange queue', async () => {
    const { publisher } = await h.connect('pub-ae');
    await purgeAll();
    await publisher.publishRaw({
      exchange: EXCHANGES.notification.name,
      routingKey: 'no-such-channel',
      content: Buffer.from('{}'),
      properties: { messageId: 'lost-1' },
    });
    const got = await waitFor(async () => (await h.vh.take(UNROUTABLE_QUEUE.name, 10)).at(0), {
      what: 'message in unroutable queue',
    });
    expect(got.properties.message_id).toBe('lost-1');
    expect(got.routing_key).toBe('no-such-channel');
  });

  it('a mandatory publish nobody can route is reported as a failure', async () => {
    const { broker, publisher } = await h.connect('pub-return');
    const conn = broker.connection()!;
    const ch = await conn.createChannel();
    await ch.assertExchange('test.no-ae', 'direct', { durable: false, autoDelete: true });
    await ch.close();
    const err = await publisher
      .publishRaw({
        exchange: 'test.no-ae',
        routingKey: 'nowhere',
        content: Buffer.from('{}'),
        properties: { messageId: 'r1' },
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnroutableError);
    expect((err as UnroutableError).replyText).toBe('NO_ROUTE');
  });
});

describe('consumer runner', () => {
  it('dead-letters an invalid message at once with the reason, without calling the handler', async () => {
    const { broker, publisher } = await h.connect('cons-invalid');
    await purgeAll();
    let calls = 0;
    const consumer = new Consumer(broker, {
      topology: channelConsumers.email,
      contracts: [notifications.email],
      publisher,
      handler: async () => {
        calls++;
      },
    });
    h.cleanup(() => consumer.stop());
    await consumer.start();
    await publisher.publishRaw({
      exchange: EXCHANGES.notification.name,
      routingKey: 'email',
      content: Buffer.from(
        JSON.stringify({ ...emailFor(randomUUID()), recipient: { name: 'x', email: 'nope' } }),
      ),
      properties: { messageId: 'bad-1', type: notifications.email.type },
    });
    await publisher.publishRaw({
      exchange: EXCHANGES.notification.name,
      routingKey: 'email',
      content: Buffer.from('{not json'),
      properties: { messageId: 'bad-2', type: notifications.email.type },
    });
    const dead: Awaited<ReturnType<TestVhost['take']>> = [];
    await waitFor(
      async () => {
        dead.push(...(await h.vh.take('email.dlq', 10)));
        return dead.length >= 2;
      },
      { what: 'two dead letters' },
    );
    const byId = Object.fromEntries(dead.map((m) => [m.properties.message_id, m.properties.headers ?? {}]));
    expect(byId['bad-1']?.[HEADERS.deathReason]).toBe('invalid-message');
    expect(String(byId['bad-1']?.[HEADERS.deathDetail])).toContain('/recipient/email');
    expect(byId['bad-2']?.[HEADERS.deathReason]).toBe('invalid-json');
    expect(calls).toBe(0);
  });

  it('retries a transient failure with growing delays, then succeeds once', async () => {
    const { broker, publisher } = await h.connect('cons-retry');
    await purgeAll();
    const seen: { at: number; attempt: number }[] = [];
    let succeeded = 0;
    const consumer = new Consumer(broker, {
      topology: channelConsumers.email,
      contracts: [notifications.email],
      publisher,
      retry: { maxAttempts: 5, delaysMs: [150, 600, 1500], jitter: 0 },
      handler: async ({ ctx }) => {
        seen.push({ at: Date.now(), attempt: ctx.attempt });
        if (ctx.attempt < 4) throw new RetryableError('smtp 451');
        succeeded++;
      },
    });
    h.cleanup(() => consumer.stop());
    await consumer.start();
    const orderId = randomUUID();
    await publisher.publish(notifications.email, emailFor(orderId), {
      messageId: 'retry-1',
      correlationId: orderId,
    });
    await waitFor(() => succeeded === 1, { what: 'success after retries', timeoutMs: 30_000 });
    expect(seen.map((s) => s.attempt)).toEqual([1, 2, 3, 4]);
    // Each retry waits at least its own configured delay (which grow); how much longer a
    // loaded machine takes varies, so the gaps are not compared with each other.
    const gaps = seen.slice(1).map((s, i) => s.at - seen[i]!.at);
    expect(gaps[0]).toBeGreaterThanOrEqual(140);
    expect(gaps[1]).toBeGreaterThanOrEqual(590);
    expect(gaps[2]).toBeGreaterThanOrEqual(1490);
    expect(await h.ready('email.dlq')).toBe(0);
  });

  it('dead-letters a message that keeps failing after the configured attempts, without a hot loop', async () => {
    const { broker, publisher } = await h.connect('cons-exhaust');
    await purgeAll();
    let calls = 0;
    const consumer = new Consumer(broker, {
      topology: channelConsumers.payment,
      contracts: [notifications.payment],
      publisher,
      retry: { maxAttempts: 3, delaysMs: [100, 200], jitter: 0.2 },
      handler: async () => {
        calls++;
        throw new Error('gateway exploded');
      },
    });
    h.cleanup(() => consumer.stop());
    await consumer.start();
    const orderId = randomUUID();
    await publisher.publish(
      notifications.payment,
      { ...exampleMessages.payment, orderId },
      { messageId: 'exhaust-1', correlationId: orderId },
    );
    const [dead] = await waitFor(
      async () => {
        const ms = await h.vh.take('payment.dlq', 1);
        return ms.length ? ms : null;
      },
      { what: 'dead letter' },
    );
    expect(dead!.properties.headers?.[HEADERS.deathReason]).toBe('max-attempts-exceeded');
    expect(String(dead!.properties.headers?.[HEADERS.deathDetail])).toContain('gateway exploded');
    expect(dead!.properties.message_id).toBe('exhaust-1');
    expect(calls).toBe(3);
  });

  it('dead-letters a permanent failure at once, and tells the observer about the dead letter for the order', async () => {
    const { broker, publisher } = await h.connect('cons-permanent');
    await purgeAll();
    let calls = 0;
    const told: DeadLetteredInfo[] = [];
    const consumer = new Consumer(broker, {
      topology: channelConsumers.email,
      contracts: [notifications.email],
      publisher,
      observer: { onDeadLettered: (info) => void told.push(info) },
      handler: async () => {
        calls++;
        throw new PermanentError('mailbox unknown', { detail: '550 5.1.1 no such user' });
      },
    });
    h.cleanup(() => consumer.stop());
    await consumer.start();
    const orderId = randomUUID();
    await publisher.publish(notifications.email, emailFor(orderId), {
      messageId: 'perm-1',
      correlationId: orderId,
    });
    const dead = await waitFor(async () => (await h.vh.take('email.dlq', 1)).at(0), { what: 'dead letter' });
    expect(dead.properties.headers?.[HEADERS.deathReason]).toBe('permanent-failure');
    expect(String(dead.properties.headers?.[HEADERS.deathDetail])).toContain('550 5.1.1');
    expect(calls).toBe(1);
    await waitFor(() => told.length === 1, { what: 'dead-letter told to the observer' });
    expect(told[0]).toMatchObject({
      queue: 'email',
      messageId: 'perm-1',
      correlationId: orderId,
      attempts: 1,
      reason: 'permanent-failure',
      message: 'mailbox unknown',
      detail: '550 5.1.1 no such user',
    });
  });

  it('acks without calling the handler when the idempotency hook says the effect already happened', async () => {
    const { broker, publisher } = await h.connect('cons-dup');
    await purgeAll();
    const done = new Set<string>();
    let effects = 0;
    const consumer = new Consumer(broker, {
      topology: channelConsumers.logistic,
      contracts: [notifications.logistic],
      publisher,
      alreadyProcessed: async (ctx) => done.has(ctx.messageId),
      handler: async ({ ctx }) => {
        effects++;
        done.add(ctx.messageId);
      },
    });
    h.cleanup(() => consumer.stop());
    await consumer.start();
    const orderId = randomUUID();
    for (let i = 0; i < 3; i++) {
      await publisher.publish(
        notifications.logistic,
        { ...exampleMessages.logistic, orderId },
        { messageId: 'dup-1', correlationId: orderId },
      );
    }
    await waitFor(async () => (await h.vh.queue('logistic'))?.messages === 0 && consumer.active === 0, {
      what: 'queue drained',
    });
    expect(effects).toBe(1);
  });

  it('when the broker closes the connection mid-stream, every confirmed message is still delivered and consuming resumes by itself', async () => {
    const { broker, publisher } = await h.connect('cons-kill');
    await purgeAll();
    const received = new Set<string>();
    const consumer = new Consumer(broker, {
      topology: channelConsumers.whatsapp,
      contracts: [notifications.whatsapp],
      publisher,
      prefetch: 20,
      handler: async ({ ctx }) => {
        received.add(ctx.messageId);
      },
    });
    h.cleanup(() => consumer.stop());
    await consumer.start();
    const confirmed = new Set<string>();
    const total = 400;
    let killed = 0;
    const publishAll = (async () => {
      for (let i = 0; i < total; i++) {
        const id = `kill-${i}`;
        const orderId = randomUUID();
        // Keep trying like the outbox relay would: a publish that was not confirmed is retried.
        for (;;) {
          try {
            await publisher.publish(
              notifications.whatsapp,
              { ...exampleMessages.whatsapp, orderId },
              { messageId: id, correlationId: orderId, timeoutMs: 3000 },
            );
            confirmed.add(id);
            break;
          } catch {
            await new Promise((r) => setTimeout(r, 50));
          }
        }
        if (i === 100 || i === 250) {
          killed += await h.vh.closeConnections();
        }
      }
    })();
    await publishAll;
    expect(killed).toBeGreaterThan(0);
    expect(confirmed.size).toBe(total);
    await waitFor(() => [...confirmed].every((id) => received.has(id)), {
      what: 'all confirmed messages consumed',
      timeoutMs: 60_000,
    });
    expect(consumer.isConsuming).toBe(true);
    expect(broker.state).toBe('connected');
  });

  it('stop waits for in-flight handlers before it resolves', async () => {
    const { broker, publisher } = await h.connect('cons-stop');
    await purgeAll();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let started = 0;
    let finished = 0;
    const consumer = new Consumer(broker, {
      topology: channelConsumers.fraud,
      contracts: [notifications.fraud],
      publisher,
      prefetch: 5,
      handler: async () => {
        started++;
        await gate;
        finished++;
      },
    });
    await consumer.start();
    for (let i = 0; i < 3; i++) {
      const orderId = randomUUID();
      await publisher.publish(
        notifications.fraud,
        { ...exampleMessages.fraud, orderId },
        { messageId: `stop-${i}`, correlationId: orderId },
      );
    }
    await waitFor(() => started === 3, { what: 'three handlers running' });
    let stopped = false;
    const stopping = consumer.stop().then(() => (stopped = true));
    await new Promise((r) => setImmediate(r));
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(finished).toBe(3);
    await waitFor(async () => (await h.vh.queue('fraud'))?.messages === 0, { what: 'all acked' });
  });

  it('routes by contract: a handler sees a typed payload whose key names its contract', async () => {
    const { broker, publisher } = await h.connect('cons-typed');
    await purgeAll();
    const seen: string[] = [];
    const consumer = new Consumer(broker, {
      topology: channelConsumers.email,
      contracts: [notifications.email],
      publisher,
      handler: async (d: Delivery<typeof notifications.email>) => {
        seen.push(`${d.key}:${d.payload.recipient.email}`);
      },
    });
    h.cleanup(() => consumer.stop());
    await consumer.start();
    const orderId = randomUUID();
    await publisher.publish(notifications.email, emailFor(orderId), {
      messageId: 'typed-1',
      correlationId: orderId,
    });
    await waitFor(() => seen.length === 1, { what: 'delivery' });
    expect(seen).toEqual(['email:ada@example.com']);
  });
});
