import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { deliveryEvents, validate } from '@notify/contracts';
import type { Contract } from '@notify/contracts';
import type { DeadLetteredInfo, PublishOptions, RetryingInfo } from '@notify/messaging';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { deliveryEventsObserver } from './delivery-events.js';

interface Published {
  readonly contract: Contract;
  readonly payload: unknown;
  readonly options: PublishOptions;
}

function fakePublisher(fail?: Error) {
  const published: Published[] = [];
  return {
    published,
    publisher: {
      async publish(contract: Contract, payload: unknown, options: PublishOptions) {
        if (fail) throw fail;
        published.push({ contract, payload, options });
      },
    },
  };
}

const at = new Date('2030-01-02T03:04:05.000Z');

function about(orderId: string | undefined) {
  return { queue: 'email', messageId: 'm-1', correlationId: orderId, routingKey: 'email' };
}

function retrying(orderId: string | undefined, extra: Partial<RetryingInfo> = {}): RetryingInfo {
  return { ...about(orderId), attempt: 2, delayMs: 5_000, message: 'smtp 451 try again later', ...extra };
}

function deadLettered(orderId: string | undefined, extra: Partial<DeadLetteredInfo> = {}): DeadLetteredInfo {
  return {
    ...about(orderId),
    attempts: 1,
    reason: 'permanent-failure',
    message: 'mailbox unknown',
    ...extra,
  };
}

describe('delivery events observer', () => {
  it('publishes <channel>.retrying for the order, with an id per attempt and a payload that fits its contract', async () => {
    const { publisher, published } = fakePublisher();
    const observer = deliveryEventsObserver({ channel: 'email', publisher, now: () => at });
    const orderId = randomUUID();
    await observer.onRetrying?.(retrying(orderId));
    expect(published).toHaveLength(1);
    const [event] = published;
    expect(event!.contract).toBe(deliveryEvents.email.retrying);
    expect(event!.payload).toEqual({
      orderId,
      occurredAt: at.toISOString(),
      channel: 'email',
      attempt: 2,
      delayMs: 5_000,
      reason: 'smtp 451 try again later',
    });
    expect(validate(event!.contract, event!.payload).ok).toBe(true);
    expect(event!.options).toEqual({ messageId: `${orderId}:email:retrying:2`, correlationId: orderId });
  });

  it("publishes <channel>.dead_lettered with the death reason and the failing party's detail", async () => {
    const { publisher, published } = fakePublisher();
    const observer = deliveryEventsObserver({ channel: 'payment', publisher, now: () => at });
    const orderId = randomUUID();
    await observer.onDeadLettered?.(deadLettered(orderId, { detail: '550 5.1.1 no such user' }));
    expect(published).toHaveLength(1);
    const [event] = published;
    expect(event!.contract).toBe(deliveryEvents.payment.deadLettered);
    expect(event!.payload).toEqual({
      orderId,
      occurredAt: at.toISOString(),
      channel: 'payment',
      attempts: 1,
      reason: 'permanent-failure: 550 5.1.1 no such user',
    });
    expect(validate(event!.contract, event!.payload).ok).toBe(true);
    expect(event!.options).toEqual({
      messageId: `${orderId}:payment:deadLettered:1`,
      correlationId: orderId,
    });
  });

  it('names what went wrong in the dead-letter reason when the failing party gave no detail', async () => {
    const { publisher, published } = fakePublisher();
    const observer = deliveryEventsObserver({ channel: 'email', publisher });
    await observer.onDeadLettered?.(
      deadLettered(randomUUID(), {
        attempts: 6,
        reason: 'max-attempts-exceeded',
        message: 'after 6 attempts: smtp 451',
      }),
    );
    expect(published[0]!.payload).toMatchObject({
      attempts: 6,
      reason: 'max-attempts-exceeded: after 6 attempts: smtp 451',
    });
  });

  it('cuts a long reason to what the event contract allows', async () => {
    const { publisher, published } = fakePublisher();
    const observer = deliveryEventsObserver({ channel: 'email', publisher });
    await observer.onRetrying?.(retrying(randomUUID(), { message: 'x'.repeat(5_000) }));
    const payload = published[0]!.payload as { reason: string };
    expect(payload.reason).toHaveLength(1000);
    expect(validate(published[0]!.contract, payload).ok).toBe(true);
  });

  it('publishes nothing for a message without an order id, or whose correlation id is not one', async () => {
    const { publisher, published } = fakePublisher();
    const observer = deliveryEventsObserver({ channel: 'email', publisher });
    await observer.onRetrying?.(retrying(undefined));
    await observer.onDeadLettered?.(deadLettered(undefined));
    await observer.onRetrying?.(retrying('not-an-order-id'));
    await observer.onDeadLettered?.(deadLettered('not-an-order-id'));
    expect(published).toEqual([]);
  });

  it('logs an event it could not publish and does not fail the hook, whose message is settled already', async () => {
    const { publisher } = fakePublisher(new Error('broker unavailable'));
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    const observer = deliveryEventsObserver({ channel: 'email', publisher, logger: pino(sink) });
    const orderId = randomUUID();
    await expect(observer.onDeadLettered?.(deadLettered(orderId))).resolves.toBeUndefined();
    expect(lines).toEqual([
      expect.objectContaining({
        level: 40,
        orderId,
        err: 'broker unavailable',
        msg: 'could not publish deadLettered event',
      }),
    ]);
  });
});
