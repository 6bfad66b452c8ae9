import { createHash } from 'node:crypto';
import { channelConsumers, EXCHANGES, HEADERS } from '@notify/contracts';
import type { Message } from 'amqplib';
import { describe, expect, it } from 'vitest';
import type { RawPublish } from './publisher.js';
import { Rerouter } from './reroute.js';
import type { Envelope } from './settle.js';

function fakePublisher(fail?: Error) {
  const sent: RawPublish[] = [];
  return {
    sent,
    publisher: {
      async publishRaw(msg: RawPublish) {
        if (fail) throw fail;
        sent.push(msg);
      },
    },
  };
}

const content = Buffer.from('{"orderId":"o-1"}');

function message(properties: Partial<Message['properties']> = {}): Message {
  return {
    content,
    fields: { deliveryTag: 1, redelivered: false, exchange: 'notification', routingKey: 'email' },
    properties: {
      messageId: 'm-1',
      correlationId: 'o-1',
      type: 'notification.email.v1',
      contentType: 'application/json',
      contentEncoding: undefined,
      timestamp: 1_900_000_000,
      appId: 'order-api',
      headers: { traceparent: 't-1', [HEADERS.attempt]: 2 },
      deliveryMode: 2,
      priority: undefined,
      replyTo: undefined,
      expiration: undefined,
      userId: undefined,
      clusterId: undefined,
      ...properties,
    },
  };
}

const envelope: Envelope = { messageId: 'm-1', correlationId: 'o-1', attempt: 2, routingKey: 'email' };
const email = channelConsumers.email;

describe('rerouter', () => {
  it("sends a retry to the retry exchange under this attempt's level, expiring after the delay, as the next attempt", async () => {
    const { publisher, sent } = fakePublisher();
    await new Rerouter(publisher, email).retry(message(), envelope, {
      action: 'retry',
      message: 'smtp 451',
      delayMs: 1_234,
      nextAttempt: 3,
    });
    expect(sent).toEqual([
      {
        exchange: EXCHANGES.retry.name,
        routingKey: email.retryRoutingKey(2),
        content,
        properties: {
          messageId: 'm-1',
          correlationId: 'o-1',
          type: 'notification.email.v1',
          contentType: 'application/json',
          timestamp: 1_900_000_000,
          appId: 'order-api',
          headers: {
            traceparent: 't-1',
            [HEADERS.attempt]: 3,
            [HEADERS.routingKey]: 'email',
            [HEADERS.lastError]: 'smtp 451',
          },
          expiration: '1234',
        },
      },
    ]);
  });

  it('cuts the last error to 500 characters', async () => {
    const { publisher, sent } = fakePublisher();
    const decision = { action: 'retry', message: 'e'.repeat(2_000), delayMs: 10, nextAttempt: 3 } as const;
    await new Rerouter(publisher, email).retry(message(), envelope, decision);
    expect(String(sent[0]!.properties.headers?.[HEADERS.lastError])).toHaveLength(500);
  });

  it('sends a dead letter to the dead-letter exchange with why, when and from where, and no expiry', async () => {
    const { publisher, sent } = fakePublisher();
    const at = new Date('2030-01-02T03:04:05.000Z');
    await new Rerouter(publisher, email).deadLetter(
      message(),
      envelope,
      {
        action: 'dead-letter',
        reason: 'permanent-failure',
        message: 'mailbox unknown',
        detail: '550',
        attempts: 2,
      },
      at,
    );
    expect(sent).toHaveLength(1);
    const [letter] = sent;
    expect(letter!.exchange).toBe(EXCHANGES.deadLetter.name);
    expect(letter!.routingKey).toBe(email.deadLetterRoutingKey);
    expect(letter!.content).toBe(content);
    expect(letter!.properties.expiration).toBeUndefined();
    expect(letter!.properties.messageId).toBe('m-1');
    expect(letter!.properties.headers).toEqual({
      traceparent: 't-1',
      [HEADERS.attempt]: 2,
      [HEADERS.routingKey]: 'email',
      [HEADERS.deathReason]: 'permanent-failure',
      [HEADERS.deathDetail]: 'mailbox unknown | 550',
      [HEADERS.deathAt]: '2030-01-02T03:04:05.000Z',
      [HEADERS.originalQueue]: 'email',
    });
  });

  it('gives a dead letter of a message without an id the hash of its body as id, and cuts the detail to 1000 characters', async () => {
    const { publisher, sent } = fakePublisher();
    await new Rerouter(publisher, email).deadLetter(
      message({ messageId: undefined, headers: undefined }),
      { ...envelope, messageId: undefined, attempt: 1 },
      { action: 'dead-letter', reason: 'missing-message-id', message: 'm'.repeat(3_000), attempts: 1 },
      new Date(),
    );
    expect(sent[0]!.properties.messageId).toBe(createHash('sha256').update(content).digest('hex'));
    expect(String(sent[0]!.properties.headers?.[HEADERS.deathDetail])).toHaveLength(1000);
  });

  it('fails when the broker does not confirm, so the caller does not ack the original', async () => {
    const { publisher } = fakePublisher(new Error('publish not confirmed'));
    await expect(
      new Rerouter(publisher, email).retry(message(), envelope, {
        action: 'retry',
        message: 'x',
        delayMs: 1,
        nextAttempt: 3,
      }),
    ).rejects.toThrow('publish not confirmed');
  });
});
