import { CHANNELS, notifications, validate } from '@notify/contracts';
import type { Contract } from '@notify/contracts';
import { describe, expect, it } from 'vitest';
import { validOrder } from '../test-support/order-fixtures.js';
import { buildOutboxMessages } from './order-messages.js';
import type { AcceptedOrder } from './order-messages.js';
import { priceOrder } from './pricing.js';

function accepted(): AcceptedOrder {
  const input = validOrder();
  return {
    id: '3f2c1a9e-7b4d-4c8e-9f1a-2b3c4d5e6f70',
    client: 'shop-eu',
    reference: 'ORD-3F2C1A9E7B4D',
    placedAt: '2026-11-23T09:00:00.000Z',
    currency: input.currency,
    customer: input.customer,
    totals: priceOrder(input.currency, input.items),
    shippingAddress: input.shippingAddress,
    billingAddress: input.billingAddress,
    paymentMethodToken: input.paymentMethodToken,
    metadata: { ip: '203.0.113.7', channel: 'web' },
  };
}

describe('buildOutboxMessages', () => {
  it('builds one message per channel that fits its contract, with a stable message id', () => {
    const messages = buildOutboxMessages(accepted(), { traceparent: 'tp' });
    expect(messages.map((m) => m.channel)).toEqual([...CHANNELS]);
    for (const m of messages) {
      const contract: Contract = notifications[m.channel];
      expect(validate(contract, m.payload).ok).toBe(true);
      expect(m.messageId).toBe(`3f2c1a9e-7b4d-4c8e-9f1a-2b3c4d5e6f70:${m.channel}`);
      expect(m.contractType).toBe(contract.type);
      expect(m.routingKey).toBe(contract.routingKey);
      expect(m.headers).toEqual({ traceparent: 'tp' });
    }
  });

  it('names the subscriber whose preferences apply: the customer reference, else the channel address', () => {
    const order = accepted();
    const of = (o: AcceptedOrder) =>
      Object.fromEntries(buildOutboxMessages(o).map((m) => [m.channel, m.payload])) as Record<
        string,
        { subscriber?: unknown }
      >;
    const byAddress = of(order);
    expect(byAddress['email']?.subscriber).toEqual({ client: 'shop-eu', customerKey: order.customer.email });
    expect(byAddress['whatsapp']?.subscriber).toEqual({
      client: 'shop-eu',
      customerKey: order.customer.phone,
    });
    const byReference = of({ ...order, customer: { ...order.customer, reference: 'cust-42' } });
    expect(byReference['email']?.subscriber).toEqual({ client: 'shop-eu', customerKey: 'cust-42' });
    expect(byReference['whatsapp']?.subscriber).toEqual({ client: 'shop-eu', customerKey: 'cust-42' });
  });

  it('carries the server-computed amounts into every message', () => {
    const byChannel = Object.fromEntries(buildOutboxMessages(accepted()).map((m) => [m.channel, m.payload]));
    expect(byChannel.email).toMatchObject({ order: { subtotal: 5248, shipping: 0, total: 5248 } });
    expect(byChannel.whatsapp).toMatchObject({ variables: { total: 5248, itemCount: 3 } });
    expect(byChannel.logistic).toMatchObject({ declaredValue: 5248 });
    expect(byChannel.payment).toMatchObject({ amount: 5248, paymentMethodToken: 'tok_approve' });
    expect(byChannel.fraud).toMatchObject({ amount: 5248, metadata: { ip: '203.0.113.7', channel: 'web' } });
  });

  it('refuses to build a message its contract would reject', () => {
    const order = { ...accepted(), reference: 'R'.repeat(41) };
    expect(() => buildOutboxMessages(order)).toThrow(/notification\.email\.v1 is invalid/);
  });
});
