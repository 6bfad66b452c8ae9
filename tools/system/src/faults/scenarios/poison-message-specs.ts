import { randomUUID } from 'node:crypto';
import { CHANNELS, exampleMessages, notifications } from '@notify/contracts';
import type { Channel } from '@notify/contracts';
import type { DeadLetter } from '../raw-amqp.js';

// The poison messages of the poison scenario: for every channel a body that is not JSON
// and one that breaks the schema, plus messages that fail in each way a service must
// dead-letter (unknown type, no message id, a provider refusing for good, a gateway that
// never recovers). Each carries the death reason the service must give it.

export interface PoisonSpec {
  readonly label: string;
  readonly channel: Channel;
  readonly reason: string;
  readonly message: {
    content: Buffer;
    messageId?: string;
    correlationId?: string;
    type?: string;
  };
}

export function poisonMessages(tag: string, rejectedEmail: string, rejectedPhone: string): PoisonSpec[] {
  const specs: PoisonSpec[] = [];
  for (const c of CHANNELS) {
    specs.push({
      label: `${c}: invalid JSON`,
      channel: c,
      reason: 'invalid-json',
      message: {
        content: Buffer.from('{"orderId": "'),
        messageId: `poison-${tag}-${c}-json`,
        type: notifications[c].type,
      },
    });
    specs.push({
      label: `${c}: wrong schema`,
      channel: c,
      reason: 'invalid-message',
      message: {
        content: Buffer.from(JSON.stringify({ orderId: 'not-a-uuid', surprise: true })),
        messageId: `poison-${tag}-${c}-schema`,
        type: notifications[c].type,
      },
    });
  }
  const valid = (channel: Channel, payload: object, label: string, reason: string) => {
    const orderId = randomUUID();
    specs.push({
      label,
      channel,
      reason,
      message: {
        content: Buffer.from(JSON.stringify({ ...payload, orderId })),
        messageId: `poison-${tag}-${channel}-${reason}`,
        correlationId: orderId,
        type: notifications[channel].type,
      },
    });
  };
  specs.push({
    label: 'email: unknown type',
    channel: 'email',
    reason: 'unknown-type',
    message: {
      content: Buffer.from(JSON.stringify(exampleMessages.email)),
      messageId: `poison-${tag}-email-type`,
      type: 'notification.email.v99',
    },
  });
  specs.push({
    label: 'fraud: no message id',
    channel: 'fraud',
    reason: 'missing-message-id',
    message: {
      content: Buffer.from(JSON.stringify({ ...exampleMessages.fraud, orderId: randomUUID() })),
      correlationId: `poison-${tag}-fraud-no-id`,
      type: notifications.fraud.type,
    },
  });
  valid(
    'payment',
    { ...exampleMessages.payment, paymentMethodToken: 'tok_gateway_error' },
    'payment: gateway fails on every call',
    'max-attempts-exceeded',
  );
  valid(
    'email',
    { ...exampleMessages.email, recipient: { name: 'Rejected', email: rejectedEmail } },
    'email: mailbox refused (550)',
    'permanent-failure',
  );
  valid(
    'whatsapp',
    { ...exampleMessages.whatsapp, to: rejectedPhone },
    'whatsapp: number refused (21211)',
    'permanent-failure',
  );
  valid(
    'logistic',
    {
      ...exampleMessages.logistic,
      shippingAddress: { ...exampleMessages.logistic.shippingAddress, country: 'AQ' },
    },
    'logistic: destination not served',
    'permanent-failure',
  );
  return specs;
}

export function isPoison(spec: PoisonSpec, d: DeadLetter): boolean {
  if (spec.message.messageId) return d.messageId === spec.message.messageId;
  return d.correlationId === spec.message.correlationId;
}
