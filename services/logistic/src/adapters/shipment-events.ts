import { events } from '@notify/contracts';
import type { Publisher } from '@notify/messaging';
import type { MessageMeta, Shipment, ShipmentEvents, ShipmentRejection } from '../create-shipment.js';

/**
 * Outcome events on order.events. Event message ids are derived from the order, so a
 * re-published outcome carries the same id and the order API de-duplicates it.
 */
export class PublishedShipmentEvents implements ShipmentEvents {
  constructor(private readonly publisher: Publisher) {}

  async shipmentCreated(s: Shipment, meta: MessageMeta): Promise<void> {
    await this.publisher.publish(
      events.shipmentCreated,
      {
        orderId: s.orderId,
        occurredAt: s.createdAt.toISOString(),
        shipmentId: s.id,
        carrier: s.carrierName,
        serviceLevel: s.serviceLevel,
        trackingNumber: s.trackingNumber,
        estimatedDelivery: s.estimatedDelivery,
        totalWeightGrams: s.totalWeightGrams,
      },
      {
        messageId: `${s.orderId}:${events.shipmentCreated.routingKey}`,
        correlationId: s.orderId,
        ...(meta.traceparent ? { traceparent: meta.traceparent } : {}),
      },
    );
  }

  async shipmentRejected(r: ShipmentRejection, meta: MessageMeta): Promise<void> {
    await this.publisher.publish(
      events.shipmentRejected,
      { orderId: r.orderId, occurredAt: r.rejectedAt.toISOString(), reason: r.reason },
      {
        messageId: `${r.orderId}:${events.shipmentRejected.routingKey}`,
        correlationId: r.orderId,
        ...(meta.traceparent ? { traceparent: meta.traceparent } : {}),
      },
    );
  }
}
