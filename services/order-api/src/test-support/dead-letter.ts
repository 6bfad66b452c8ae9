import { channelConsumers, exampleMessages, HEADERS, notifications } from '@notify/contracts';
import type { Publisher } from '@notify/messaging';

/**
 * Dead-letters an order's message the way the consumer runner does: a confirmed publish
 * to the queue's dead-letter exchange, with the runner's headers. Returns its message id.
 */
export async function deadLetter(
  publisher: Publisher,
  channel: 'email' | 'whatsapp',
  orderId: string,
  reason: string,
): Promise<string> {
  const t = channelConsumers[channel];
  const messageId = `${orderId}:${channel}`;
  await publisher.publishRaw({
    exchange: t.deadLetterExchange.name,
    routingKey: t.deadLetterRoutingKey,
    content: Buffer.from(JSON.stringify({ ...structuredClone(exampleMessages[channel]), orderId })),
    properties: {
      messageId,
      correlationId: orderId,
      type: notifications[channel].type,
      contentType: 'application/json',
      headers: {
        [HEADERS.deathReason]: reason,
        [HEADERS.deathDetail]: `${reason} detail`,
        [HEADERS.deathAt]: new Date().toISOString(),
        [HEADERS.routingKey]: channel,
        [HEADERS.originalQueue]: channel,
        [HEADERS.attempt]: 3,
        traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`,
      },
    },
  });
  return messageId;
}
