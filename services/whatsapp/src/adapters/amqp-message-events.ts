import { events } from '@notify/contracts';
import type { Publisher } from '@notify/messaging';
import { outcomeEventOptions } from '@notify/service-kit';
import type { TraceMeta } from '@notify/service-kit';
import type { MessageEvents, SentRecord, StatusRecord } from '../send-order-whatsapp.js';

/**
 * Publishes the service's outcome events. Event message ids are derived from the order (and
 * the status), never random, so a re-publication after a crash or a repeated callback is
 * recognised downstream as the same event.
 */
export class AmqpMessageEvents implements MessageEvents {
  constructor(private readonly publisher: Publisher) {}

  async sent(record: SentRecord, trace: TraceMeta): Promise<void> {
    await this.publisher.publish(
      events.whatsappSent,
      {
        orderId: record.orderId,
        occurredAt: record.acceptedAt,
        to: record.to,
        messageSid: record.messageSid,
        status: record.acceptedStatus,
        ...(record.via === 'sms' ? { via: 'sms' as const } : {}),
        ...(record.fallbackReason ? { fallbackReason: record.fallbackReason } : {}),
      },
      // The SMS that replaced a failed WhatsApp message is an event of its own.
      outcomeEventOptions(
        record.orderId,
        `${record.orderId}:whatsapp.sent${record.replacedSid ? ':sms' : ''}`,
        trace,
      ),
    );
  }

  async status(record: StatusRecord, trace: TraceMeta): Promise<void> {
    await this.publisher.publish(
      events.whatsappStatus,
      {
        orderId: record.orderId,
        occurredAt: record.occurredAt,
        messageSid: record.messageSid,
        status: record.status,
        ...(record.errorCode !== undefined ? { errorCode: record.errorCode } : {}),
      },
      outcomeEventOptions(
        record.orderId,
        `${record.orderId}:whatsapp.status:${record.fallback ? 'sms:' : ''}${record.status}`,
        trace,
      ),
    );
  }

  async failed(
    failure: { orderId: string; reason: string; errorCode: number | undefined },
    trace: TraceMeta,
  ): Promise<void> {
    await this.publisher.publish(
      events.whatsappFailed,
      {
        orderId: failure.orderId,
        occurredAt: new Date().toISOString(),
        reason: failure.reason,
        ...(failure.errorCode !== undefined ? { errorCode: failure.errorCode } : {}),
      },
      outcomeEventOptions(failure.orderId, `${failure.orderId}:whatsapp.failed`, trace),
    );
  }

  async skipped(skip: { orderId: string; reason: string }, trace: TraceMeta): Promise<void> {
    await this.publisher.publish(
      events.whatsappSkipped,
      { orderId: skip.orderId, occurredAt: new Date().toISOString(), reason: skip.reason },
      outcomeEventOptions(skip.orderId, `${skip.orderId}:whatsapp.skipped`, trace),
    );
  }
}
