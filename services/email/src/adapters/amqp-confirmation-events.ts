import { events } from '@notify/contracts';
import type { Publisher } from '@notify/messaging';
import { outcomeEventOptions } from '@notify/service-kit';
import type { TraceMeta } from '@notify/service-kit';
import type { ConfirmationEvents, SentConfirmation } from '../send-order-confirmation.js';

/**
 * Outcome events on `order.events`. Their message ids are derived from the order, so a
 * re-published `email.sent` is recognisably the same event to whoever de-duplicates.
 */
export class AmqpConfirmationEvents implements ConfirmationEvents {
  constructor(private readonly publisher: Publisher) {}

  async sent(record: SentConfirmation, trace: TraceMeta): Promise<void> {
    await this.publisher.publish(
      events.emailSent,
      {
        orderId: record.orderId,
        occurredAt: record.sentAt.toISOString(),
        recipient: record.recipient,
        smtpMessageId: record.smtpMessageId,
        locale: record.locale,
      },
      outcomeEventOptions(record.orderId, `${record.orderId}:${events.emailSent.routingKey}`, trace),
    );
  }

  async failed(
    failure: { orderId: string; reason: string; smtpResponse?: string; occurredAt: Date },
    trace: TraceMeta,
  ): Promise<void> {
    await this.publisher.publish(
      events.emailFailed,
      {
        orderId: failure.orderId,
        occurredAt: failure.occurredAt.toISOString(),
        reason: failure.reason,
        ...(failure.smtpResponse ? { smtpResponse: failure.smtpResponse } : {}),
      },
      outcomeEventOptions(failure.orderId, `${failure.orderId}:${events.emailFailed.routingKey}`, trace),
    );
  }

  async skipped(
    skip: { orderId: string; reason: string; occurredAt: Date },
    trace: TraceMeta,
  ): Promise<void> {
    await this.publisher.publish(
      events.emailSkipped,
      { orderId: skip.orderId, occurredAt: skip.occurredAt.toISOString(), reason: skip.reason },
      outcomeEventOptions(skip.orderId, `${skip.orderId}:${events.emailSkipped.routingKey}`, trace),
    );
  }
}
