import { events } from '@notify/contracts';
import type { Publisher } from '@notify/messaging';
import type { OutcomeEvents } from '../send-order-whatsapp.js';

/**
 * Publishes the service's outcome events. Event message ids are derived from the order (and
 * the status), never random, so a re-publication after a crash or a repeated callback is
 * recognised downstream as the same event.
 */
export function createOutcomeEvents(publisher: Publisher): OutcomeEvents {
  return {
    async sent(record, trace) {
      await publisher.publish(
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
    },
    async status(record, trace) {
      await publisher.publish(
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
    },
    async failed(failure, trace) {
      await publisher.publish(
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
    },
  };
}
