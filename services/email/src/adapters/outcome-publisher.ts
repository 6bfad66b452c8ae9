import { events } from '@notify/contracts';
import type { Publisher } from '@notify/messaging';
import type { EmailOutcomes } from '../send-order-confirmation.js';

/**
 * Outcome events on `order.events`. Their message ids are derived from the order, so a
 * re-published `email.sent` is recognisably the same event to whoever de-duplicates.
 */
export function outcomePublisher(publisher: Publisher): EmailOutcomes {
  return {
    async sent(record, { traceparent }) {
      await publisher.publish(
        events.emailSent,
        {
          orderId: record.orderId,
          occurredAt: record.sentAt.toISOString(),
          recipient: record.recipient,
          smtpMessageId: record.smtpMessageId,
          locale: record.locale,
        },
        {
          messageId: `${record.orderId}:${events.emailSent.routingKey}`,
          correlationId: record.orderId,
          ...(traceparent ? { traceparent } : {}),
        },
      );
    },
    async failed(failure, { traceparent }) {
      await publisher.publish(
        events.emailFailed,
        {
          orderId: failure.orderId,
          occurredAt: failure.occurredAt.toISOString(),
          reason: failure.reason,
          ...(failure.smtpResponse ? { smtpResponse: failure.smtpResponse } : {}),
        },
        {
          messageId: `${failure.orderId}:${events.emailFailed.routingKey}`,
          correlationId: failure.orderId,
          ...(traceparent ? { traceparent } : {}),
        },
      );
    },
  };
}
