import { CHANNELS, ContractValidationError, notifications, validate } from '@notify/contracts';
import type {
  Address,
  Channel,
  Contract,
  CurrencyCode,
  Customer,
  EmailMessage,
  FraudMessage,
  LogisticMessage,
  PaymentMessage,
  RequestMetadata,
  WhatsappMessage,
} from '@notify/contracts';
import type { Static } from 'typebox';
import type { Totals } from './pricing.js';

export interface AcceptedOrder {
  readonly id: string;
  /** The API client placing the order: whose customer preferences apply to it. */
  readonly client: string;
  readonly reference: string;
  readonly placedAt: string;
  readonly currency: CurrencyCode;
  readonly customer: Static<typeof Customer>;
  readonly totals: Totals;
  readonly shippingAddress: Static<typeof Address>;
  readonly billingAddress: Static<typeof Address>;
  readonly paymentMethodToken: string;
  readonly metadata: Static<typeof RequestMetadata>;
}

export interface OutboxMessage {
  readonly channel: Channel;
  /** Stable per order and channel, so every consumer can de-duplicate a re-publish. */
  readonly messageId: string;
  readonly contractType: string;
  readonly routingKey: string;
  readonly payload: unknown;
  /** Extra AMQP headers stored with the row (the caller's traceparent). */
  readonly headers: Readonly<Record<string, string>>;
}

export function messageIdFor(orderId: string, channel: Channel): string {
  return `${orderId}:${channel}`;
}

/**
 * The key a customer's preferences are kept under for a channel: the client's customer
 * reference when the order gives one, else the address that channel sends to.
 */
export function customerKeyOf(customer: Static<typeof Customer>, channel: 'email' | 'whatsapp'): string {
  return normalCustomerKey(customer.reference ?? (channel === 'email' ? customer.email : customer.phone));
}

/** Email addresses are compared without case (what mailbox providers do in practice). */
export function normalCustomerKey(key: string): string {
  return key.includes('@') ? key.toLowerCase() : key;
}

type Payloads = {
  email: EmailMessage;
  whatsapp: WhatsappMessage;
  logistic: LogisticMessage;
  payment: PaymentMessage;
  fraud: FraudMessage;
};

function payloadsFor(o: AcceptedOrder): Payloads {
  const { customer, totals } = o;
  return {
    email: {
      orderId: o.id,
      recipient: { name: customer.name, email: customer.email },
      subscriber: { client: o.client, customerKey: customerKeyOf(customer, 'email') },
      locale: customer.locale,
      order: {
        reference: o.reference,
        placedAt: o.placedAt,
        currency: o.currency,
        lines: totals.lines.map((l) => ({
          sku: l.sku,
          name: l.name,
          quantity: l.quantity,
          unitPrice: l.unitPrice,
          lineTotal: l.lineTotal,
        })),
        subtotal: totals.subtotal,
        shipping: totals.shipping,
        total: totals.total,
        shippingAddress: o.shippingAddress,
      },
    },
    whatsapp: {
      orderId: o.id,
      to: customer.phone,
      subscriber: { client: o.client, customerKey: customerKeyOf(customer, 'whatsapp') },
      locale: customer.locale,
      variables: {
        customerName: customer.name,
        orderReference: o.reference,
        total: totals.total,
        currency: o.currency,
        itemCount: totals.itemCount,
      },
    },
    logistic: {
      orderId: o.id,
      // The parcel goes to the person named on the shipping address, reachable by the customer's contacts.
      recipient: { name: o.shippingAddress.name, email: customer.email, phone: customer.phone },
      items: totals.lines.map((l) => ({
        sku: l.sku,
        name: l.name,
        quantity: l.quantity,
        weightGrams: l.weightGrams,
      })),
      shippingAddress: o.shippingAddress,
      declaredValue: totals.subtotal,
      currency: o.currency,
    },
    payment: {
      orderId: o.id,
      amount: totals.total,
      currency: o.currency,
      paymentMethodToken: o.paymentMethodToken,
      customer: { name: customer.name, email: customer.email },
      billingAddress: o.billingAddress,
    },
    fraud: {
      orderId: o.id,
      customer,
      amount: totals.total,
      currency: o.currency,
      items: totals.lines.map((l) => ({ sku: l.sku, quantity: l.quantity, unitPrice: l.unitPrice })),
      shippingAddress: o.shippingAddress,
      billingAddress: o.billingAddress,
      metadata: o.metadata,
      placedAt: o.placedAt,
    },
  };
}

/**
 * The five messages of an order, each checked against its contract before it is
 * stored: a message that does not fit is a bug here, and it must fail the request
 * rather than sit in the outbox where the relay could never publish it.
 */
export function buildOutboxMessages(
  order: AcceptedOrder,
  headers: Readonly<Record<string, string>> = {},
): OutboxMessage[] {
  const payloads = payloadsFor(order);
  return CHANNELS.map((channel) => {
    const contract: Contract = notifications[channel];
    const result = validate(contract, payloads[channel]);
    if (!result.ok) throw new ContractValidationError(contract.type, result.errors);
    return {
      channel,
      messageId: messageIdFor(order.id, channel),
      contractType: contract.type,
      routingKey: contract.routingKey,
      payload: result.value,
      headers,
    };
  });
}
