import type { LogisticMessage } from '@notify/contracts';
import type { DeliveryMeta, TraceMeta } from '@notify/service-kit';
import { chooseCarrier, totalWeightGrams } from './choose-carrier.js';
import type { RejectionCode, ShippingChoice, ShippingRefusal } from './choose-carrier.js';
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
  /** The stored shipments of these orders, by order id, in one query. */
  findByOrderIds(orderIds: readonly string[]): Promise<ReadonlyMap<string, Shipment>>;
  /** A fresh serial for a tracking number; gaps are fine, repeats are not. */
  nextTrackingSerial(): Promise<bigint>;
  /** `count` fresh serials in one query. */
  nextTrackingSerials(count: number): Promise<readonly bigint[]>;
  /**
   * Stores the shipment and the inbox record of the message in one transaction. When
   * another delivery stored a shipment for the order first, returns that one instead.
   */
  create(shipment: Shipment, inbox: { messageId: string }): Promise<{ shipment: Shipment; created: boolean }>;
  /**
   * `create` for many shipments in one transaction (multi-row writes), one result per
   * shipment in order; two shipments of one order in the list store the first.
   */
  createAll(
    items: readonly { shipment: Shipment; inbox: { messageId: string } }[],
  ): Promise<readonly { shipment: Shipment; created: boolean }[]>;
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
  logOutcome(outcome, meta);
  return outcome;
}

/** What a window does with one message. */
type Plan =
  | { readonly kind: 'stored'; readonly shipment: Shipment }
  | { readonly kind: 'ship'; readonly choice: ShippingChoice }
  | { readonly kind: 'reject'; readonly refusal: ShippingRefusal };

/** One message of a window and its delivery. */
export interface ShipmentRequest {
  readonly message: LogisticMessage;
  readonly meta: DeliveryMeta;
}

/**
 * createShipment for a window of messages, with the same story per order: the stored
 * shipments are read in one query, the new ones take their serials in one query and are
 * stored in one transaction, and every outcome event is published at once. Each
 * message's result is its own: an event the broker did not confirm fails that message
 * only (its retry re-publishes the stored shipment). A database failure rejects the
 * whole window before anything is announced.
 */
export async function createShipments(
  requests: readonly ShipmentRequest[],
  deps: CreateShipmentDeps,
): Promise<PromiseSettledResult<ShipmentOutcome>[]> {
  const { repository, rules } = deps;
  const existing = await repository.findByOrderIds(requests.map((r) => r.message.orderId));
  const now = deps.now();
  const plans = requests.map((r): Plan => {
    const shipment = existing.get(r.message.orderId);
    if (shipment) return { kind: 'stored', shipment };
    const choice = chooseCarrier(rules, r.message.shippingAddress.country, totalWeightGrams(r.message.items));
    return choice.ok ? { kind: 'ship', choice } : { kind: 'reject', refusal: choice };
  });
  const toShip = plans.flatMap((p, i) => (p.kind === 'ship' ? [{ i, choice: p.choice }] : []));
  const serials = toShip.length > 0 ? await repository.nextTrackingSerials(toShip.length) : [];
  const stored = await repository.createAll(
    toShip.map(({ i, choice }, k) => ({
      shipment: draftOf(requests[i]!.message, requests[i]!.meta, choice, serials[k]!, now, deps),
      inbox: { messageId: requests[i]!.meta.messageId },
    })),
  );
  const shipped = new Map(toShip.map(({ i }, k) => [i, stored[k]!]));
  return Promise.allSettled(
    requests.map(async (r, i): Promise<ShipmentOutcome> => {
      const plan = plans[i]!;
      let outcome: ShipmentOutcome;
      if (plan.kind === 'stored') outcome = { kind: 'duplicate', shipment: plan.shipment };
      else if (plan.kind === 'reject') outcome = await reject(r.message, r.meta, plan.refusal, now, deps);
      else {
        const { shipment, created } = shipped.get(i)!;
        outcome = { kind: created ? 'created' : 'duplicate', shipment };
      }
      if (outcome.kind !== 'rejected') await deps.events.shipmentCreated(outcome.shipment, r.meta);
      logOutcome(outcome, r.meta);
      return outcome;
    }),
  );
}

function logOutcome(outcome: ShipmentOutcome, meta: DeliveryMeta): void {
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
  const choice = chooseCarrier(rules, message.shippingAddress.country, totalWeightGrams(message.items));
  if (!choice.ok) return reject(message, meta, choice, now, deps);
  const serial = await repository.nextTrackingSerial();
  const draft = draftOf(message, meta, choice, serial, now, deps);
  const { shipment, created } = await repository.create(draft, { messageId: meta.messageId });
  await events.shipmentCreated(shipment, meta);
  return created ? { kind: 'created', shipment } : { kind: 'duplicate', shipment };
}

/** Keeps the rejection and announces it. */
async function reject(
  message: LogisticMessage,
  meta: DeliveryMeta,
  choice: ShippingRefusal,
  now: Date,
  deps: CreateShipmentDeps,
): Promise<ShipmentOutcome> {
  const rejection = await deps.repository.recordRejection({
    orderId: message.orderId,
    code: choice.code,
    reason: choice.reason,
    rejectedAt: now,
  });
  await deps.events.shipmentRejected(rejection, meta);
  return { kind: 'rejected', rejection };
}

/** The shipment an order gets with this carrier and serial, not yet stored. */
function draftOf(
  message: LogisticMessage,
  meta: DeliveryMeta,
  choice: ShippingChoice,
  serial: bigint,
  now: Date,
  deps: CreateShipmentDeps,
): Shipment {
  return {
    id: deps.newId(),
    orderId: message.orderId,
    carrierId: choice.carrier.id,
    carrierName: choice.carrier.name,
    serviceLevel: choice.serviceLevel,
    zone: choice.zone.id,
    destinationCountry: message.shippingAddress.country,
    totalWeightGrams: choice.totalWeightGrams,
    trackingNumber: formatTrackingNumber(choice.carrier.tracking, serial),
    estimatedDelivery: estimateDelivery({
      // A message that waited in a queue (broker outage, retries) is still promised
      // from when the customer ordered, not from when we got round to it.
      orderedAt: meta.publishedAt && meta.publishedAt < now ? meta.publishedAt : now,
      transitBusinessDays: choice.transitBusinessDays,
      cutoffHourUtc: deps.rules.dispatchCutoffHourUtc,
      holidays: new Set(deps.rules.holidays),
    }),
    createdAt: now,
  };
}
