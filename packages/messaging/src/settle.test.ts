import { deliveryEvents, exampleMessages, HEADERS, notifications } from '@notify/contracts';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { RetryPolicy } from './backoff.js';
import { PermanentError, RetryableError } from './errors.js';
import { Fates } from './fate.js';
import { admit, decide, fateOfError, readEnvelope } from './settle.js';
import type { RawDelivery } from './settle.js';

const policy: RetryPolicy = { maxAttempts: 4, delaysMs: [100, 1_000, 10_000], jitter: 0 };
const half = () => 0.5;

function raw(over: {
  body?: unknown;
  content?: Buffer;
  routingKey?: string;
  redelivered?: boolean;
  properties?: RawDelivery['properties'];
}): RawDelivery {
  return {
    fields: { routingKey: over.routingKey ?? 'email', redelivered: over.redelivered ?? false },
    properties: over.properties ?? { messageId: 'm-1', type: notifications.email.type },
    content: over.content ?? Buffer.from(JSON.stringify(over.body ?? exampleMessages.email)),
  };
}

function admitEmail(delivery: RawDelivery) {
  return admit(delivery, readEnvelope(delivery), [notifications.email], { maxAttempts: policy.maxAttempts });
}

describe('readEnvelope', () => {
  it('reads a first delivery: attempt 1, the routing key it arrived with, its ids', () => {
    const env = readEnvelope(
      raw({ properties: { messageId: 'm-1', correlationId: 'order-1', type: notifications.email.type } }),
    );
    expect(env).toEqual({ messageId: 'm-1', correlationId: 'order-1', attempt: 1, routingKey: 'email' });
  });

  it('reads a retried delivery: the attempt and the original routing key from the headers', () => {
    const env = readEnvelope(
      raw({
        routingKey: 'email',
        properties: { messageId: 'm-1', headers: { [HEADERS.attempt]: 3, [HEADERS.routingKey]: 'orig-key' } },
      }),
    );
    expect(env.attempt).toBe(3);
    expect(env.routingKey).toBe('orig-key');
    expect(readEnvelope(raw({ properties: { headers: { [HEADERS.attempt]: '2' } } })).attempt).toBe(2);
  });

  it('counts an attempt header that is not a positive integer as the first attempt', () => {
    for (const bad of [0, -1, 1.5, 'two', null, {}]) {
      expect(
        readEnvelope(raw({ properties: { headers: { [HEADERS.attempt]: bad } } })).attempt,
        String(bad),
      ).toBe(1);
    }
  });

  it('has no message id for an empty or non-string one, and no correlation id that is not a string', () => {
    expect(readEnvelope(raw({ properties: { messageId: '' } })).messageId).toBeUndefined();
    expect(readEnvelope(raw({ properties: { messageId: 42, correlationId: 42 } }))).toMatchObject({
      messageId: undefined,
      correlationId: undefined,
    });
  });
});

describe('admit', () => {
  it('refuses a message without a message id with missing-message-id', () => {
    const result = admitEmail(raw({ properties: { type: notifications.email.type } }));
    expect(result).toEqual({
      ok: false,
      decision: {
        action: 'dead-letter',
        reason: 'missing-message-id',
        message: 'message has no messageId property',
        attempts: 1,
      },
    });
  });

  it('refuses a body that is not JSON with invalid-json', () => {
    const result = admitEmail(raw({ content: Buffer.from('{not json') }));
    expect(result.ok).toBe(false);
    expect(!result.ok && result.decision.reason).toBe('invalid-json');
  });

  it('refuses a type this queue does not accept with unknown-type, naming the type and key', () => {
    const result = admitEmail(raw({ properties: { messageId: 'm-1', type: notifications.payment.type } }));
    expect(!result.ok && result.decision).toMatchObject({
      reason: 'unknown-type',
      message: `type "${notifications.payment.type}" on "email" is not accepted here`,
    });
    const untyped = admitEmail(raw({ properties: { messageId: 'm-1' } }));
    expect(!untyped.ok && untyped.decision.reason).toBe('unknown-type');
  });

  it('refuses a payload that does not fit its contract with invalid-message, naming the field', () => {
    const body = { ...exampleMessages.email, recipient: { name: 'x', email: 'nope' } };
    const result = admitEmail(raw({ body }));
    expect(!result.ok && result.decision.reason).toBe('invalid-message');
    expect(!result.ok && result.decision.message).toContain('/recipient/email');
  });

  it('keeps the attempt count of a retried message it refuses', () => {
    const result = admitEmail(raw({ properties: { headers: { [HEADERS.attempt]: 3 } } }));
    expect(!result.ok && result.decision.attempts).toBe(3);
  });

  it('hands a valid message over with its contract, payload and context', () => {
    const logger = pino({ enabled: false });
    const traceparent = '00-0123456789abcdef0123456789abcdef-0123456789abcdef-01';
    const delivery = raw({
      redelivered: true,
      properties: {
        messageId: 'm-1',
        correlationId: exampleMessages.email.orderId,
        type: notifications.email.type,
        timestamp: 1_900_000_000,
        headers: { [HEADERS.attempt]: 2, [HEADERS.traceparent]: traceparent, 'x-other': 'kept' },
      },
    });
    const result = admit(delivery, readEnvelope(delivery), [notifications.email], { maxAttempts: 7, logger });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const { key, contract, payload, ctx } = result.delivery;
    expect(key).toBe('email');
    expect(contract).toBe(notifications.email);
    expect(payload).toEqual(exampleMessages.email);
    expect(ctx).toEqual({
      messageId: 'm-1',
      correlationId: exampleMessages.email.orderId,
      attempt: 2,
      maxAttempts: 7,
      redelivered: true,
      routingKey: 'email',
      publishedAt: new Date(1_900_000_000 * 1000),
      headers: { [HEADERS.attempt]: 2, [HEADERS.traceparent]: traceparent, 'x-other': 'kept' },
      traceparent,
      logger,
    });
  });

  it('picks among contracts that share a type by the routing key the message was published with', () => {
    const contracts = [deliveryEvents.email.retrying, deliveryEvents.whatsapp.retrying];
    const body = {
      orderId: exampleMessages.email.orderId,
      occurredAt: '2030-01-01T00:00:00.000Z',
      channel: 'whatsapp',
      attempt: 1,
      delayMs: 1000,
      reason: 'x',
    };
    const delivery = raw({
      body,
      routingKey: 'order-api.events',
      properties: {
        messageId: 'e-1',
        type: deliveryEvents.whatsapp.retrying.type,
        headers: { [HEADERS.routingKey]: 'whatsapp.retrying' },
      },
    });
    const result = admit(delivery, readEnvelope(delivery), contracts, { maxAttempts: 3 });
    expect(result.ok && result.delivery.contract).toBe(deliveryEvents.whatsapp.retrying);
  });
});

describe('decide', () => {
  it('acks when the handler returned nothing or the ack fate', () => {
    expect(decide({ returned: undefined }, 1, policy, half)).toEqual({ action: 'ack' });
    expect(decide({ returned: Fates.ack() }, 4, policy, half)).toEqual({ action: 'ack' });
  });

  it("retries a retry fate after the policy's delay for that attempt, as the next attempt", () => {
    expect(decide({ returned: Fates.retry('smtp 451') }, 1, policy, half)).toEqual({
      action: 'retry',
      message: 'smtp 451',
      delayMs: 100,
      nextAttempt: 2,
    });
    expect(decide({ returned: Fates.retry('smtp 451') }, 3, policy, half)).toMatchObject({
      delayMs: 10_000,
      nextAttempt: 4,
    });
  });

  it('spreads the delay by the jitter with the given random source', () => {
    const jittery: RetryPolicy = { ...policy, jitter: 0.2 };
    expect(decide({ returned: Fates.retry('x') }, 2, jittery, () => 0)).toMatchObject({ delayMs: 800 });
    expect(decide({ returned: Fates.retry('x') }, 2, jittery, () => 1)).toMatchObject({ delayMs: 1_200 });
  });

  it('dead-letters a retry on the last attempt with max-attempts-exceeded', () => {
    expect(decide({ returned: Fates.retry('smtp 451') }, 4, policy, half)).toEqual({
      action: 'dead-letter',
      reason: 'max-attempts-exceeded',
      message: 'after 4 attempts: smtp 451',
      attempts: 4,
    });
  });

  it('retries an unavailable dependency like a failure, naming the dependency, and bounds it the same way', () => {
    const fate = Fates.unavailable('database', 'connection refused');
    expect(decide({ returned: fate }, 1, policy, half)).toEqual({
      action: 'retry',
      message: 'database unavailable: connection refused',
      delayMs: 100,
      nextAttempt: 2,
    });
    expect(decide({ returned: fate }, 4, policy, half)).toMatchObject({
      action: 'dead-letter',
      reason: 'max-attempts-exceeded',
      message: 'after 4 attempts: database unavailable: connection refused',
    });
  });

  it('dead-letters a dead-letter fate at once with permanent-failure, keeping its detail', () => {
    expect(decide({ returned: Fates.deadLetter('mailbox unknown', '550 5.1.1') }, 1, policy, half)).toEqual({
      action: 'dead-letter',
      reason: 'permanent-failure',
      message: 'mailbox unknown',
      detail: '550 5.1.1',
      attempts: 1,
    });
    expect(decide({ returned: Fates.deadLetter('card expired') }, 4, policy, half)).toEqual({
      action: 'dead-letter',
      reason: 'permanent-failure',
      message: 'card expired',
      attempts: 4,
    });
  });

  it('dead-letters a thrown PermanentError and retries any other throw', () => {
    const permanent = new PermanentError('mailbox unknown', { detail: '550 5.1.1' });
    expect(decide({ threw: permanent }, 2, policy, half)).toMatchObject({
      action: 'dead-letter',
      reason: 'permanent-failure',
      message: 'mailbox unknown',
      detail: '550 5.1.1',
      attempts: 2,
    });
    expect(decide({ threw: new RetryableError('smtp 451') }, 1, policy, half)).toMatchObject({
      action: 'retry',
      message: 'smtp 451',
    });
    expect(decide({ threw: new TypeError('x is undefined') }, 1, policy, half)).toMatchObject({
      action: 'retry',
      message: 'x is undefined',
    });
    expect(decide({ threw: 'a string' }, 4, policy, half)).toMatchObject({
      action: 'dead-letter',
      reason: 'max-attempts-exceeded',
      message: 'after 4 attempts: a string',
    });
  });
});

describe('fateOfError', () => {
  it('maps a PermanentError without detail to a dead-letter fate without detail', () => {
    expect(fateOfError(new PermanentError('gone'))).toEqual({ kind: 'dead-letter', reason: 'gone' });
  });
});
