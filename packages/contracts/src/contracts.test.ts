import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  ALL_CONSUMERS,
  allContracts,
  CHANNELS,
  channelConsumers,
  DELIVERY_LIMIT,
  exampleMessages,
  EXCHANGES,
  fullTopology,
  jsonSchemas,
  KEEP_FOREVER_DELIVERY_LIMIT,
  events,
  notifications,
  PREFERENCE_CHANNELS,
  preferenceConsumers,
  preferencesChanged,
  UNROUTABLE_QUEUE,
  validate,
} from './index.js';
import type { Contract, Payload } from './index.js';

const clone = <T>(v: T): T => structuredClone(v);

function expectRejected(result: ReturnType<typeof validate>, field: string) {
  expect(result.ok).toBe(false);
  if (result.ok) return;
  expect(result.errors.map((e) => e.field)).toContain(field);
}

describe('notification contracts', () => {
  it.each(CHANNELS)('accepts the %s example', (channel) => {
    const contract: Contract = notifications[channel];
    const result = validate(contract, exampleMessages[channel]);
    expect(result).toEqual({ ok: true, value: exampleMessages[channel] });
  });

  it('names a missing field', () => {
    const m = clone(exampleMessages.email) as Partial<typeof exampleMessages.email>;
    delete m.locale;
    expectRejected(validate(notifications.email, m), '/locale');
  });

  it('names a field of the wrong type', () => {
    const m = { ...clone(exampleMessages.payment), amount: '3998' };
    expectRejected(validate(notifications.payment, m), '/amount');
  });

  it('names an extra field, even nested', () => {
    const m = clone(exampleMessages.logistic);
    (m.shippingAddress as Record<string, unknown>)['isAdmin'] = true;
    expectRejected(validate(notifications.logistic, m), '/shippingAddress/isAdmin');
  });

  it('rejects an oversized string', () => {
    const m = clone(exampleMessages.email);
    m.recipient.name = 'x'.repeat(201);
    expectRejected(validate(notifications.email, m), '/recipient/name');
  });

  it('rejects a bad email address', () => {
    const m = clone(exampleMessages.email);
    m.recipient.email = 'not-an-email';
    expectRejected(validate(notifications.email, m), '/recipient/email');
  });

  it.each(['447700900123', '+0447700900', '+12', '+44 7700 900123', '+4477009001234567'])(
    'rejects %s as an E.164 number',
    (to) => {
      expectRejected(validate(notifications.whatsapp, { ...clone(exampleMessages.whatsapp), to }), '/to');
    },
  );

  it('rejects a negative or fractional amount', () => {
    expectRejected(
      validate(notifications.payment, { ...clone(exampleMessages.payment), amount: -1 }),
      '/amount',
    );
    expectRejected(
      validate(notifications.payment, { ...clone(exampleMessages.payment), amount: 10.5 }),
      '/amount',
    );
  });

  it('rejects an unknown currency and an unknown country', () => {
    expectRejected(
      validate(notifications.payment, { ...clone(exampleMessages.payment), currency: 'XYZ' }),
      '/currency',
    );
    const m = clone(exampleMessages.fraud);
    m.billingAddress.country = 'UK';
    expectRejected(validate(notifications.fraud, m), '/billingAddress/country');
  });

  it('rejects an item quantity of zero', () => {
    const m = clone(exampleMessages.logistic);
    m.items[0]!.quantity = 0;
    expectRejected(validate(notifications.logistic, m), '/items/0/quantity');
  });

  it('reports every problem at once', () => {
    const result = validate(notifications.payment, {
      ...clone(exampleMessages.payment),
      amount: -5,
      currency: 'ABC',
    });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors.map((e) => e.field).sort()).toEqual(['/amount', '/currency']);
  });
});

describe('customer preferences contracts', () => {
  const subscriber = { client: 'shop-eu', customerKey: 'cust-42' };
  const preferences = {
    subscriber,
    email: { optedOut: true },
    whatsapp: { optedOut: false },
    version: 3,
    updatedAt: '2026-11-23T09:00:00.000Z',
  };

  it('accepts a whole preferences record and refuses a partial one or an unknown field', () => {
    expect(validate(preferencesChanged, preferences).ok).toBe(true);
    const { whatsapp: _w, ...partial } = preferences;
    expectRejected(validate(preferencesChanged, partial), '/whatsapp');
    expectRejected(validate(preferencesChanged, { ...preferences, sms: { optedOut: true } }), '/sms');
  });

  it('lets email and whatsapp messages name their subscriber, and refuses a client id with spaces', () => {
    expect(validate(notifications.email, { ...clone(exampleMessages.email), subscriber }).ok).toBe(true);
    expect(validate(notifications.whatsapp, { ...clone(exampleMessages.whatsapp), subscriber }).ok).toBe(
      true,
    );
    expectRejected(
      validate(notifications.email, {
        ...clone(exampleMessages.email),
        subscriber: { ...subscriber, client: 'shop eu' },
      }),
      '/subscriber/client',
    );
  });

  it('has a skipped outcome with a reason for exactly the channels a customer may opt out of', () => {
    const skipped = { orderId: exampleMessages.email.orderId, occurredAt: '2026-11-23T09:00:01.000Z' };
    expect(validate(events.emailSkipped, { ...skipped, reason: 'customer opted out of email' }).ok).toBe(
      true,
    );
    expectRejected(validate(events.whatsappSkipped, { ...skipped, reason: '' }), '/reason');
    const skippedKeys = allContracts.map((c) => c.routingKey).filter((k) => k.endsWith('.skipped'));
    expect(skippedKeys.sort()).toEqual(PREFERENCE_CHANNELS.map((c) => `${c}.skipped`).sort());
  });

  it('says which way a WhatsApp notification went', () => {
    const sent = {
      orderId: exampleMessages.whatsapp.orderId,
      occurredAt: '2026-11-23T09:00:01.000Z',
      to: '+447700900123',
      messageSid: `SM${'0'.repeat(32)}`,
      status: 'queued',
    };
    expect(validate(events.whatsappSent, sent).ok).toBe(true);
    expect(validate(events.whatsappSent, { ...sent, via: 'sms', fallbackReason: 'not on WhatsApp' }).ok).toBe(
      true,
    );
    expectRejected(validate(events.whatsappSent, { ...sent, via: 'pigeon' }), '/via');
  });

  it('fans preference changes out to one queue per preference-checking service', () => {
    for (const c of PREFERENCE_CHANNELS) {
      expect(preferenceConsumers[c].bindings).toContainEqual({
        exchange: EXCHANGES.preferences.name,
        queue: `${c}.preferences`,
        routingKey: '',
      });
    }
    expect(EXCHANGES.preferences.type).toBe('fanout');
  });
});

describe('contract typing', () => {
  it('ties a routing key to its payload type at compile time', () => {
    type EmailPayload = Payload<typeof notifications.email>;
    const good: EmailPayload = exampleMessages.email;
    // @ts-expect-error a payment message is not an email message
    const bad: EmailPayload = exampleMessages.payment;
    expect(good).toBeDefined();
    expect(bad).toBeDefined();
  });
});

describe('topology', () => {
  it('binds each channel queue to the notification exchange by its own routing key', () => {
    for (const channel of CHANNELS) {
      const t = channelConsumers[channel];
      expect(t.queue.name).toBe(channel);
      expect(t.bindings).toContainEqual({
        exchange: EXCHANGES.notification.name,
        queue: channel,
        routingKey: channel,
      });
      expect(t.queue.arguments['x-queue-type']).toBe('quorum');
      expect(t.retryRoutingKey(99)).toBe(`${channel}.retry.5`);
    }
  });

  it('gives every consumer its own retry and dead-letter exchanges, which reach its queues alone', () => {
    const full = fullTopology();
    for (const t of ALL_CONSUMERS) {
      const q = t.queue.name;
      expect(t.retryExchange).toEqual({ name: `${q}.retry`, type: 'direct', arguments: {} });
      expect(t.deadLetterExchange).toEqual({ name: `${q}.dlx`, type: 'direct', arguments: {} });
      const own = new Set(t.queues.map((x) => x.name));
      for (const e of t.exchanges) {
        expect(full.exchanges).toContainEqual(e);
        const reached = full.bindings.filter((b) => b.exchange === e.name).map((b) => b.queue);
        expect(reached.length, e.name).toBeGreaterThan(0);
        for (const r of reached) expect(own.has(r), `${e.name} -> ${r}`).toBe(true);
      }
      expect(full.bindings).toContainEqual({ exchange: t.retryExchange.name, queue: q, routingKey: q });
      expect(full.bindings).toContainEqual({
        exchange: t.deadLetterExchange.name,
        queue: t.deadLetterQueue.name,
        routingKey: t.deadLetterRoutingKey,
      });
    }
  });

  it('states a delivery limit on every queue, and dead-letters at least once wherever the broker dead-letters', () => {
    for (const q of fullTopology().queues) {
      expect(q.arguments['x-queue-type'], q.name).toBe('quorum');
      expect(Number.isInteger(q.arguments['x-delivery-limit']), q.name).toBe(true);
      expect(q.arguments['x-delivery-limit'], q.name).toBeGreaterThan(0);
      if (q.arguments['x-dead-letter-exchange'] !== undefined) {
        expect(q.arguments['x-dead-letter-strategy'], q.name).toBe('at-least-once');
        // at-least-once without reject-publish falls back to at-most-once.
        expect(q.arguments['x-overflow'], q.name).toBe('reject-publish');
      }
    }
    for (const t of ALL_CONSUMERS) {
      expect(t.queue.arguments).toMatchObject({
        'x-delivery-limit': DELIVERY_LIMIT,
        'x-dead-letter-exchange': t.deadLetterExchange.name,
        'x-dead-letter-routing-key': t.queue.name,
      });
      for (const r of t.retryQueues) {
        expect(r.arguments).toMatchObject({
          'x-dead-letter-exchange': t.retryExchange.name,
          'x-dead-letter-routing-key': t.workRoutingKey,
        });
      }
      // Nowhere to dead-letter to: looking at a dead letter must never cost it.
      expect(t.deadLetterQueue.arguments).toEqual({
        'x-queue-type': 'quorum',
        'x-delivery-limit': KEEP_FOREVER_DELIVERY_LIMIT,
      });
    }
    expect(UNROUTABLE_QUEUE.arguments['x-delivery-limit']).toBe(KEEP_FOREVER_DELIVERY_LIMIT);
  });

  it('has no shared retry or dead-letter exchange', () => {
    expect(Object.values(EXCHANGES).map((e) => e.name)).toEqual([
      'notification',
      'notification.unroutable',
      'order.events',
      'customer.preferences',
    ]);
  });

  it('gives notification an alternate exchange whose queue catches everything, under a name of its own', () => {
    expect(UNROUTABLE_QUEUE.name).not.toBe(EXCHANGES.unroutable.name);
    expect(EXCHANGES.notification.arguments['alternate-exchange']).toBe(EXCHANGES.unroutable.name);
    expect(fullTopology().bindings).toContainEqual({
      exchange: EXCHANGES.unroutable.name,
      queue: 'notification.unroutable.queue',
      routingKey: '',
    });
  });

  it('has unique queue names', () => {
    const names = fullTopology().queues.map((q) => q.name);
    expect(new Set(names).size).toBe(names.length);
  });
});

describe('JSON Schema export', () => {
  it('has one schema per contract type and the committed files are up to date', () => {
    const schemas = jsonSchemas();
    expect(Object.keys(schemas).length).toBe(new Set(allContracts.map((c) => c.type)).size);
    const dir = fileURLToPath(new URL('../schemas/', import.meta.url));
    const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
    expect(files.sort()).toEqual(
      Object.keys(schemas)
        .map((t) => `${t}.json`)
        .sort(),
    );
    for (const [type, schema] of Object.entries(schemas)) {
      expect(JSON.parse(readFileSync(`${dir}${type}.json`, 'utf8'))).toEqual(schema);
    }
  });
});
