import Type from 'typebox';
import {
  Address,
  Currency,
  Customer,
  E164,
  Email,
  IpAddress,
  LocaleTag,
  MinorUnits,
  PaymentToken,
  Subscriber,
  Quantity,
  Sku,
  Text,
  Timestamp,
  Uuid,
  WeightGrams,
} from './primitives.js';

// Each message carries everything its service needs to do its job without calling the
// order API back. Versions are part of the AMQP `type` property (see registry.ts).

const OrderLine = Type.Object(
  {
    sku: Sku,
    name: Text(200),
    quantity: Quantity,
    unitPrice: MinorUnits,
    lineTotal: MinorUnits,
  },
  { additionalProperties: false },
);

export const EmailMessageV1 = Type.Object(
  {
    orderId: Uuid,
    recipient: Type.Object({ name: Text(200), email: Email }, { additionalProperties: false }),
    /** Absent on messages from before preferences: then none apply but address-wide opt-outs. */
    subscriber: Type.Optional(Subscriber),
    locale: LocaleTag,
    order: Type.Object(
      {
        reference: Text(40),
        placedAt: Timestamp,
        currency: Currency,
        lines: Type.Array(OrderLine, { minItems: 1, maxItems: 100 }),
        subtotal: MinorUnits,
        shipping: MinorUnits,
        total: MinorUnits,
        shippingAddress: Address,
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false, $id: 'notification.email.v1', title: 'Email notification v1' },
);

export const WhatsappMessageV1 = Type.Object(
  {
    orderId: Uuid,
    to: E164,
    subscriber: Type.Optional(Subscriber),
    locale: LocaleTag,
    variables: Type.Object(
      {
        customerName: Text(200),
        orderReference: Text(40),
        total: MinorUnits,
        currency: Currency,
        itemCount: Type.Integer({ minimum: 1, maximum: 100_000 }),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false, $id: 'notification.whatsapp.v1', title: 'WhatsApp notification v1' },
);

export const LogisticMessageV1 = Type.Object(
  {
    orderId: Uuid,
    recipient: Type.Object({ name: Text(200), email: Email, phone: E164 }, { additionalProperties: false }),
    items: Type.Array(
      Type.Object(
        { sku: Sku, name: Text(200), quantity: Quantity, weightGrams: WeightGrams },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 100 },
    ),
    shippingAddress: Address,
    declaredValue: MinorUnits,
    currency: Currency,
  },
  { additionalProperties: false, $id: 'notification.logistic.v1', title: 'Logistic notification v1' },
);

export const PaymentMessageV1 = Type.Object(
  {
    orderId: Uuid,
    amount: MinorUnits,
    currency: Currency,
    paymentMethodToken: PaymentToken,
    customer: Type.Object({ name: Text(200), email: Email }, { additionalProperties: false }),
    billingAddress: Address,
  },
  { additionalProperties: false, $id: 'notification.payment.v1', title: 'Payment notification v1' },
);

export const RequestMetadata = Type.Object(
  {
    ip: Type.Optional(IpAddress),
    userAgent: Type.Optional(Type.String({ maxLength: 512 })),
    channel: Type.Optional(Type.String({ maxLength: 40 })),
  },
  { additionalProperties: false },
);

export const FraudMessageV1 = Type.Object(
  {
    orderId: Uuid,
    customer: Customer,
    amount: MinorUnits,
    currency: Currency,
    items: Type.Array(
      Type.Object({ sku: Sku, quantity: Quantity, unitPrice: MinorUnits }, { additionalProperties: false }),
      { minItems: 1, maxItems: 100 },
    ),
    shippingAddress: Address,
    billingAddress: Address,
    metadata: RequestMetadata,
    placedAt: Timestamp,
  },
  { additionalProperties: false, $id: 'notification.fraud.v1', title: 'Fraud notification v1' },
);

/** The channels a customer may opt out of; transactional ones (logistic, payment, fraud) never skip. */
export const PREFERENCE_CHANNELS = ['email', 'whatsapp'] as const;
export type PreferenceChannel = (typeof PREFERENCE_CHANNELS)[number];

/**
 * A customer's preferences as the order API holds them, whole: the email and whatsapp
 * services keep their own copy from these, applying only a version newer than theirs, so
 * a re-publish or an out-of-order delivery changes nothing.
 */
export const CustomerPreferencesV1 = Type.Object(
  {
    subscriber: Subscriber,
    email: Type.Object({ optedOut: Type.Boolean() }, { additionalProperties: false }),
    whatsapp: Type.Object({ optedOut: Type.Boolean() }, { additionalProperties: false }),
    version: Type.Integer({ minimum: 1, description: 'Grows with every change of this subscriber' }),
    updatedAt: Timestamp,
  },
  {
    additionalProperties: false,
    $id: 'customer.preferences.v1',
    title: 'Customer preferences (the whole record, after a change)',
  },
);
