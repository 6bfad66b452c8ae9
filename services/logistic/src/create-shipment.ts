import type { LogisticMessage } from '@notify/contracts';
import type { DeliveryMeta, TraceMeta } from '@notify/service-kit';
import { chooseCarrier, totalWeightGrams } from './choose-carrier.js';
import type { RejectionCode } from './choose-carrier.js';
import { estimateDelivery } from './delivery-estimate.js';
import type { ShippingRules } from './shipping-rules.js';
import { formatTrackingNumber } from './tracking-number.js';

export interface Shipment {
  readonly id: string;
  readonly orderId: string;
  readonly carrierId: string;
  readonly carrierName: string;
  readonly serviceLevel: string;
  readonly zone: string;
  readonly destinationCountry: string;
  readonly totalWeightGrams: number;
  readonly trackingNumber: string;
  /** YYYY-MM-DD */
  readonly estimatedDelivery: string;
  readonly createdAt: Date;
}

export interface ShipmentRejection {
  readonly orderId: string;
  readonly code: RejectionCode;
  readonly reason: string;
  /** When the order was first found unshippable; repeated rejections keep it. */
  readonly rejectedAt: Date;
}

export interface ShipmentRepository {
  findByOrderId(orderId: string): Promise<Shipment | undefined>;
  /** A fresh serial for a tracking number; gaps are fine, repeats are not. */
  nextTrackingSerial(): Promise<bigint>;
  /**
   * Stores the shipment and the inbox record of the message in one transaction. When
   * another delivery stored a shipment for the order first, returns that one instead.
   */
  create(shipment: Shipment, inbox: { messageId: string }): Promise<{ shipment: Shipment; created: boolean }>;
  /** Keeps the rejection for operators; returns it with the time the order was first rejected. */
  recordRejection(rejection: ShipmentRejection): Promise<ShipmentRejection>;
}

/** Where outcome events go (order.events); resolves once the broker confirmed. */
export interface ShipmentEvents {
  shipmentCreated(shipment: Shipment, trace: TraceMeta): Promise<void>;
  shipmentRejected(rejection: ShipmentRejection, trace: TraceMeta): Promise<void>;
}

export interface CreateShipmentDeps {
  readonly rules: ShippingRules;
  readonly repository: ShipmentRepository;
  readonly events: ShipmentEvents;
  /** The order time the estimate starts from. */
  readonly now: () => Date;
  readonly newId: () => string;
}

export type ShipmentOutcome =
  | { readonly kind: 'created'; readonly shipment: Shipment }
  | { readonly kind: 'duplicate'; readonly shipment: Shipment }
  | { readonly kind: 'rejected'; readonly rejection: ShipmentRejection };

/**
 * Ships an order once. A delivery for an order that already has a shipment publishes
 * the stored `shipment.created` again (the first attempt may have died before its
 * event was confirmed) and creates nothing. An order that cannot ship is answered with
 * `shipment.rejected`; fate.ts decides what happens to the message. The estimate starts
 * from the message's publish time (the outbox sets it when the order is placed).
 */
export async function createShipment(
  message: LogisticMessage,
  meta: DeliveryMeta,
  deps: CreateShipmentDeps,
): Promise<ShipmentOutcome> {
  const outcome = await shipOnce(message, meta, deps);
  const log = meta.logger;
  if (outcome.kind === 'rejected') {
    const { code, reason } = outcome.rejection;
    log?.warn({ code, reason }, 'order cannot be shipped');
  } else {
    const s = outcome.shipment;
    log?.info(
      {
        shipmentId: s.id,
        carrier: s.carrierId,
        serviceLevel: s.serviceLevel,
        trackingNumber: s.trackingNumber,
        estimatedDelivery: s.estimatedDelivery,
      },
      outcome.kind === 'created' ? 'shipment created' : 'shipment already existed; event re-published',
    );
  }
  return outcome;
}

async function shipOnce(
  message: LogisticMessage,
  meta: DeliveryMeta,
  deps: CreateShipmentDeps,
): Promise<ShipmentOutcome> {
  const { repository, events, rules } = deps;
  const existing = await repository.findByOrderId(message.orderId);
  if (existing) {
    await events.shipmentCreated(existing, meta);
    return { kind: 'duplicate', shipment: existing };
  }

  const now = deps.now();
  const country = message.shippingAddress.country;
  const choice = chooseCarrier(rules, country, totalWeightGrams(message.items));
  if (!choice.ok) {
    const rejection = await repository.recordRejection({
      orderId: message.orderId,
      code: choice.code,
      reason: choice.reason,
      rejectedAt: now,
    });
    await events.shipmentRejected(rejection, meta);
    return { kind: 'rejected', rejection };
  }

  const serial = await repository.nextTrackingSerial();
  const draft: Shipment = {
    id: deps.newId(),
    orderId: message.orderId,
    carrierId: choice.carrier.id,
    carrierName: choice.carrier.name,
    serviceLevel: choice.serviceLevel,
    zone: choice.zone.id,
    destinationCountry: country,
    totalWeightGrams: choice.totalWeightGrams,
    trackingNumber: formatTrackingNumber(choice.carrier.tracking, serial),
    estimatedDelivery: estimateDelivery({
      // A message that waited in a queue (broker outage, retries) is still promised
      // from when the customer ordered, not from when we got round to it.
      orderedAt: meta.publishedAt && meta.publishedAt < now ? meta.publishedAt : now,
      transitBusinessDays: choice.transitBusinessDays,
      cutoffHourUtc: rules.dispatchCutoffHourUtc,
      holidays: new Set(rules.holidays),
    }),
    createdAt: now,
  };
  const { shipment, created } = await repository.create(draft, { messageId: meta.messageId });
  await events.shipmentCreated(shipment, meta);
  return created ? { kind: 'created', shipment } : { kind: 'duplicate', shipment };
}
