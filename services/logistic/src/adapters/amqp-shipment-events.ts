import { events } from '@notify/contracts';
import type { Publisher } from '@notify/messaging';
import { outcomeEventOptions } from '@notify/service-kit';
import type { TraceMeta } from '@notify/service-kit';
import type { Shipment, ShipmentEvents, ShipmentRejection } from '../create-shipment.js';

/**
 * Outcome events on order.events. Event message ids are derived from the order, so a
 * re-published outcome carries the same id and the order API de-duplicates it.
 */
export class AmqpShipmentEvents implements ShipmentEvents {
  constructor(private readonly publisher: Publisher) {}

  async shipmentCreated(s: Shipment, trace: TraceMeta): Promise<void> {
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
      outcomeEventOptions(s.orderId, `${s.orderId}:${events.shipmentCreated.routingKey}`, trace),
    );
  }

  async shipmentRejected(r: ShipmentRejection, trace: TraceMeta): Promise<void> {
    await this.publisher.publish(
      events.shipmentRejected,
      { orderId: r.orderId, occurredAt: r.rejectedAt.toISOString(), reason: r.reason },
      outcomeEventOptions(r.orderId, `${r.orderId}:${events.shipmentRejected.routingKey}`, trace),
    );
  }
}
