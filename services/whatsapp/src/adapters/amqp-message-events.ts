import { events } from '@notify/contracts';
import type { Publisher } from '@notify/messaging';
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
      },
      {
        messageId: `${record.orderId}:whatsapp.sent`,
        correlationId: record.orderId,
        ...(trace.traceparent ? { traceparent: trace.traceparent } : {}),
      },
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
      {
        messageId: `${record.orderId}:whatsapp.status:${record.status}`,
        correlationId: record.orderId,
        ...(trace.traceparent ? { traceparent: trace.traceparent } : {}),
      },
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
      {
        messageId: `${failure.orderId}:whatsapp.failed`,
        correlationId: failure.orderId,
        ...(trace.traceparent ? { traceparent: trace.traceparent } : {}),
      },
    );
  }
}
