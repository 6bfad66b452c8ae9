import { HEADERS } from '@notify/contracts';
import type { ConsumeMessage } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { captureLetter, headerFromJson, headerToJson } from './dead-letters.js';

function delivery(
  fields: { exchange: string; routingKey: string },
  properties: Record<string, unknown>,
  content = '{}',
): ConsumeMessage {
  return {
    fields: { ...fields, redelivered: false, deliveryTag: 1 },
    properties,
    content: Buffer.from(content),
  } as unknown as ConsumeMessage;
}

describe('captureLetter', () => {
  it('names an unroutable message by the routing key it was published with', () => {
    const msg = delivery(
      { exchange: 'notification', routingKey: 'sms' },
      {
        messageId: 'm-1',
        headers: { traceparent: 't' },
      },
    );
    expect(captureLetter(msg, 'notification.unroutable', { unroutable: true })).toMatchObject({
      queue: 'notification.unroutable',
      messageId: 'm-1',
      exchange: 'notification',
      routingKey: 'sms',
      reason: 'unroutable',
      firstDeath: null,
      headers: { traceparent: 't' },
    });
  });

  it("takes the runner's reason, detail and original routing key from its headers", () => {
    const msg = delivery(
      { exchange: 'order-api.events.dlx', routingKey: 'order-api.events' },
      {
        messageId: 'e-1',
        correlationId: 'o-1',
        type: 'email.sent.v1',
        headers: {
          [HEADERS.deathReason]: 'max-attempts-exceeded',
          [HEADERS.deathDetail]: 'boom',
          [HEADERS.deathAt]: '2026-01-02T03:04:05.000Z',
          [HEADERS.routingKey]: 'email.sent',
          [HEADERS.originalQueue]: 'order-api.events',
          [HEADERS.attempt]: 6,
          'x-replay-count': 2,
        },
      },
    );
    expect(captureLetter(msg, 'order-api.events.dlq')).toMatchObject({
      routingKey: 'email.sent',
      reason: 'max-attempts-exceeded',
      detail: 'boom',
      deadLetteredAt: new Date('2026-01-02T03:04:05.000Z'),
      attempts: 6,
      replays: 2,
      properties: { correlationId: 'o-1', type: 'email.sent.v1' },
      firstDeath: { queue: 'order-api.events', reason: 'max-attempts-exceeded' },
    });
  });

  it('gives a message without an id the same id every time it is seen, from its body and key', () => {
    const a = captureLetter(delivery({ exchange: 'x', routingKey: 'k' }, {}, 'body'), 'q');
    const b = captureLetter(delivery({ exchange: 'x', routingKey: 'k' }, {}, 'body'), 'q');
    const c = captureLetter(delivery({ exchange: 'x', routingKey: 'k' }, {}, 'other'), 'q');
    expect(a.messageId).toMatch(/^[0-9a-f]{64}$/);
    expect(a.messageId).toBe(b.messageId);
    expect(c.messageId).not.toBe(a.messageId);
  });
});

describe('stored headers', () => {
  it('survive JSON with byte arrays, nesting and numbers intact', () => {
    const headers = { bytes: Buffer.from([0, 1, 255]), list: [1, 'a', { n: null }], flag: true };
    const back = headerFromJson(JSON.parse(JSON.stringify(headerToJson(headers)))) as typeof headers;
    expect(Buffer.isBuffer(back.bytes)).toBe(true);
    expect([...back.bytes]).toEqual([0, 1, 255]);
    expect(back.list).toEqual([1, 'a', { n: null }]);
    expect(back.flag).toBe(true);
  });
});
