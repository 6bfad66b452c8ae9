import { exampleMessages } from '@notify/contracts';
import type { LogisticMessage } from '@notify/contracts';
import type { TraceMeta } from '@notify/service-kit';
import { testDeliveryMeta } from '@notify/service-kit/testing';
import { describe, expect, it } from 'vitest';
import { createShipment, createShipments } from './create-shipment.js';
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
  /** Calls of the window methods, to show a window costs one of each. */
  const calls: string[] = [];
  const create = (s: Shipment, { messageId }: { messageId: string }) => {
    const existing = shipments.get(s.orderId);
    if (existing) return { shipment: existing, created: false };
    shipments.set(s.orderId, s);
    inbox.push(messageId);
    return { shipment: s, created: true };
  };
  let failCreateAll: Error | undefined;
  const repository: ShipmentRepository = {
    findByOrderId: async (id) => shipments.get(id),
    findByOrderIds: async (ids) => {
      calls.push('findByOrderIds');
      return new Map(ids.flatMap((id) => (shipments.has(id) ? [[id, shipments.get(id)!] as const] : [])));
    },
    nextTrackingSerial: async () => ++serial,
    nextTrackingSerials: async (n) => {
      calls.push('nextTrackingSerials');
      return Array.from({ length: n }, () => ++serial);
    },
    create: async (s, inboxEntry) => create(s, inboxEntry),
    createAll: async (items) => {
      calls.push('createAll');
      if (failCreateAll) throw failCreateAll;
      return items.map((i) => create(i.shipment, i.inbox));
    },
    recordRejection: async (r) => {
      const stored = { ...r, rejectedAt: rejections.get(r.orderId)?.rejectedAt ?? r.rejectedAt };
      rejections.set(r.orderId, stored);
      return stored;
    },
  };
  let unconfirmed: string | undefined;
  const events = {
    shipmentCreated: async (s: Shipment, meta: TraceMeta) => {
      if (meta.traceparent === unconfirmed) throw new Error('publish not confirmed');
      published.push({ type: 'created', payload: s, trace: meta.traceparent });
    },
    shipmentRejected: async (r: ShipmentRejection, meta: TraceMeta) => {
      published.push({ type: 'rejected', payload: r, trace: meta.traceparent });
    },
  };
  return {
    repository,
    events,
    shipments,
    rejections,
    inbox,
    published,
    calls,
    failWindowWrite: (err: Error) => (failCreateAll = err),
    /** The broker does not confirm the event published for this delivery's trace. */
    unconfirm: (trace: string) => (unconfirmed = trace),
  };
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

describe('createShipments (a window)', () => {
  const another = (orderId: string) => order({ orderId });
  const ids = ['11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222'];

  it('ships a window with one read, one serial query and one write, each order with its own outcome', async () => {
    const ports = memoryPorts();
    await createShipment(another(ids[1]!), delivery('m0'), deps(ports));
    const brazil = order({
      orderId: '33333333-3333-4333-8333-333333333333',
      shippingAddress: { ...exampleMessages.logistic.shippingAddress, country: 'BR' },
    });
    const results = await createShipments(
      [
        { message: another(ids[0]!), meta: delivery('m1') },
        { message: another(ids[1]!), meta: delivery('m2') },
        { message: brazil, meta: delivery('m3') },
      ],
      deps(ports),
    );
    expect(results.map((r) => r.status === 'fulfilled' && r.value.kind)).toEqual([
      'created',
      'duplicate',
      'rejected',
    ]);
    expect(ports.calls).toEqual(['findByOrderIds', 'nextTrackingSerials', 'createAll']);
    expect(ports.inbox).toEqual(['m0', 'm1']);
    expect(ports.published.map((p) => [p.type, p.trace])).toEqual(
      expect.arrayContaining([
        ['created', 'trace-of-m1'],
        ['created', 'trace-of-m2'],
        ['rejected', 'trace-of-m3'],
      ]),
    );
  });

  it('ships two deliveries of one order in a window once', async () => {
    const ports = memoryPorts();
    const results = await createShipments(
      [
        { message: another(ids[0]!), meta: delivery('m1') },
        { message: another(ids[0]!), meta: delivery('m2') },
      ],
      deps(ports),
    );
    expect(results.map((r) => r.status === 'fulfilled' && r.value.kind)).toEqual(['created', 'duplicate']);
    expect(ports.shipments.size).toBe(1);
  });

  it('fails only the message whose event the broker did not confirm', async () => {
    const ports = memoryPorts();
    ports.unconfirm('trace-of-m2');
    const results = await createShipments(
      [
        { message: another(ids[0]!), meta: delivery('m1') },
        { message: another(ids[1]!), meta: delivery('m2') },
      ],
      deps(ports),
    );
    expect(results[0]).toMatchObject({ status: 'fulfilled', value: { kind: 'created' } });
    expect(results[1]).toMatchObject({ status: 'rejected', reason: new Error('publish not confirmed') });
    // Its shipment is stored: its retry announces that one.
    expect(ports.shipments.size).toBe(2);
  });

  it('rejects the whole window, announcing nothing, when the write fails', async () => {
    const ports = memoryPorts();
    ports.failWindowWrite(new Error('deadlock detected'));
    await expect(
      createShipments([{ message: another(ids[0]!), meta: delivery('m1') }], deps(ports)),
    ).rejects.toThrow('deadlock detected');
    expect(ports.published).toEqual([]);
  });
});
