import { events } from '@notify/contracts';
import type { Publisher } from '@notify/messaging';
import type { TraceMeta } from '@notify/service-kit';
import type { ConfirmationEvents, SentConfirmation } from '../send-order-confirmation.js';

/**
 * Outcome events on `order.events`. Their message ids are derived from the order, so a
 * re-published `email.sent` is recognisably the same event to whoever de-duplicates.
 */
export class AmqpConfirmationEvents implements ConfirmationEvents {
  constructor(private readonly publisher: Publisher) {}

  async sent(record: SentConfirmation, { traceparent }: TraceMeta): Promise<void> {
    await this.publisher.publish(
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
  }

  async failed(
    failure: { orderId: string; reason: string; smtpResponse?: string; occurredAt: Date },
    { traceparent }: TraceMeta,
  ): Promise<void> {
    await this.publisher.publish(
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
  }
}
