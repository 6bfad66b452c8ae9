import { exampleMessages } from '@notify/contracts';
import type { LogisticMessage } from '@notify/contracts';
import type { TraceMeta } from '@notify/service-kit';
import { testDeliveryMeta } from '@notify/service-kit/testing';
import { describe, expect, it } from 'vitest';
import { createShipment } from './create-shipment.js';
import type { Shipment, ShipmentRejection, ShipmentRepository } from './create-shipment.js';
import { loadShippingRules } from './shipping-rules.js';
import { isValidTrackingNumber } from './tracking-number.js';

// In-memory ports: the use case is exercised without a database or a broker.
function memoryPorts() {
  const shipments = new Map<string, Shipment>();
  const rejections = new Map<string, ShipmentRejection>();
  const inbox: string[] = [];
  const published: {
    type: 'created' | 'rejected';
    payload: Shipment | ShipmentRejection;
    trace: string | undefined;
  }[] = [];
  let serial = 41n;
  const repository: ShipmentRepository = {
    findByOrderId: async (id) => shipments.get(id),
    nextTrackingSerial: async () => ++serial,
    create: async (s, { messageId }) => {
      const existing = shipments.get(s.orderId);
      if (existing) return { shipment: existing, created: false };
      shipments.set(s.orderId, s);
      inbox.push(messageId);
      return { shipment: s, created: true };
    },
    recordRejection: async (r) => {
      const stored = { ...r, rejectedAt: rejections.get(r.orderId)?.rejectedAt ?? r.rejectedAt };
      rejections.set(r.orderId, stored);
      return stored;
    },
  };
  const events = {
    shipmentCreated: async (s: Shipment, meta: TraceMeta) => {
      published.push({ type: 'created', payload: s, trace: meta.traceparent });
    },
    shipmentRejected: async (r: ShipmentRejection, meta: TraceMeta) => {
      published.push({ type: 'rejected', payload: r, trace: meta.traceparent });
    },
  };
  return { repository, events, shipments, rejections, inbox, published };
}

const rules = loadShippingRules();
let ids = 0;
const deps = (ports: ReturnType<typeof memoryPorts>, now = '2026-11-23T09:00:00.000Z') => ({
  rules,
  repository: ports.repository,
  events: ports.events,
  now: () => new Date(now),
  newId: () => `00000000-0000-4000-8000-${String(++ids).padStart(12, '0')}`,
});
/** The delivery of message `messageId`; its trace tells which delivery published an event. */
const delivery = (messageId: string, publishedAt?: Date) =>
  testDeliveryMeta({ messageId, traceparent: `trace-of-${messageId}`, publishedAt });
const order = (patch: Partial<LogisticMessage> = {}): LogisticMessage => ({
  ...structuredClone(exampleMessages.logistic),
  ...patch,
});

describe('createShipment', () => {
  it('creates a shipment with carrier, tracking number and estimate, and announces it', async () => {
    const ports = memoryPorts();
    const outcome = await createShipment(order(), delivery('m1'), deps(ports));
    expect(outcome.kind).toBe('created');
    const s = ports.shipments.get(exampleMessages.logistic.orderId)!;
    expect(s).toMatchObject({
      carrierId: 'national-post',
      carrierName: 'National Post',
      serviceLevel: 'standard',
      zone: 'domestic',
      destinationCountry: 'GB',
      totalWeightGrams: 900,
      estimatedDelivery: '2026-11-25',
    });
    expect(s.trackingNumber).toMatch(/^RR00000042\dGB$/);
    expect(isValidTrackingNumber(s.trackingNumber)).toBe(true);
    expect(ports.inbox).toEqual(['m1']);
    expect(ports.published).toEqual([{ type: 'created', payload: s, trace: 'trace-of-m1' }]);
  });

  it('promises delivery from when the order was placed, not from when a delayed message arrived', async () => {
    const ports = memoryPorts();
    // Processed on Wednesday 25 November, but ordered on Monday 23rd at 09:00.
    const outcome = await createShipment(
      order(),
      delivery('m1', new Date('2026-11-23T09:00:00.000Z')),
      deps(ports, '2026-11-25T09:00:00.000Z'),
    );
    expect(outcome.kind).toBe('created');
    if (outcome.kind === 'created') expect(outcome.shipment.estimatedDelivery).toBe('2026-11-25');
  });

  it('on a duplicate delivery announces the stored shipment again and creates nothing', async () => {
    const ports = memoryPorts();
    const first = await createShipment(order(), delivery('m1'), deps(ports));
    const again = await createShipment(order(), delivery('m1'), deps(ports, '2026-12-01T09:00:00.000Z'));
    expect(again).toEqual({ kind: 'duplicate', shipment: first.kind === 'created' && first.shipment });
    expect(ports.shipments.size).toBe(1);
    expect(ports.inbox).toEqual(['m1']);
    expect(ports.published.map((p) => p.payload)).toEqual([
      ports.published[0]!.payload,
      ports.published[0]!.payload,
    ]);
  });

  it('uses the shipment another delivery stored first', async () => {
    const ports = memoryPorts();
    await createShipment(order(), delivery('m1'), deps(ports));
    const stored = ports.shipments.get(exampleMessages.logistic.orderId)!;
    // The race: this delivery looked before the other one committed.
    const racing = { ...ports, repository: { ...ports.repository, findByOrderId: async () => undefined } };
    const outcome = await createShipment(order(), delivery('m2'), deps(racing));
    expect(outcome).toEqual({ kind: 'duplicate', shipment: stored });
    expect(ports.published.at(-1)?.payload).toBe(stored);
  });

  it('rejects an order to a country it does not serve, with the reason, and stores nothing', async () => {
    const ports = memoryPorts();
    const msg = order({ shippingAddress: { ...exampleMessages.logistic.shippingAddress, country: 'BR' } });
    const outcome = await createShipment(msg, delivery('m1'), deps(ports));
    expect(outcome).toMatchObject({
      kind: 'rejected',
      rejection: { code: 'unsupported-country', reason: 'we do not ship to BR' },
    });
    expect(ports.shipments.size).toBe(0);
    expect(ports.published).toMatchObject([{ type: 'rejected', trace: 'trace-of-m1' }]);
  });

  it('rejects an order heavier than the limit', async () => {
    const ports = memoryPorts();
    const msg = order({ items: [{ sku: 'ANVIL-1', name: 'Anvil', quantity: 2, weightGrams: 16_000 }] });
    const outcome = await createShipment(msg, delivery('m1'), deps(ports));
    expect(outcome).toMatchObject({ kind: 'rejected', rejection: { code: 'overweight' } });
    expect(outcome.kind === 'rejected' && outcome.rejection.reason).toContain('32000 g');
  });
});
