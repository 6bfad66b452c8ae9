import Type from 'typebox';
import { Currency, E164, Email, MinorUnits, Text, Timestamp, Uuid } from './primitives.js';

// Outcome events published by the services to the `order.events` topic exchange.
// Every event names its order and when it happened; the order API folds them into
// per-channel state, so each carries the details a client wants to see.

const base = { orderId: Uuid, occurredAt: Timestamp };
const closed = (id: string, title: string) => ({ additionalProperties: false, $id: id, title });

export const Reason = Type.String({ minLength: 1, maxLength: 1000 });

export const EmailSentV1 = Type.Object(
  { ...base, recipient: Email, smtpMessageId: Text(998), locale: Text(16) },
  closed('event.email.sent.v1', 'Email sent'),
);
export const EmailFailedV1 = Type.Object(
  { ...base, reason: Reason, smtpResponse: Type.Optional(Type.String({ maxLength: 1000 })) },
  closed('event.email.failed.v1', 'Email failed permanently'),
);

export const EmailSkippedV1 = Type.Object(
  { ...base, reason: Reason },
  closed('event.email.skipped.v1', 'Email not sent: the customer opted out (final; the channel is done)'),
);

export const WHATSAPP_STATUSES = ['queued', 'sent', 'delivered', 'read', 'failed', 'undelivered'] as const;
export const WhatsappStatus = Type.Unsafe<(typeof WHATSAPP_STATUSES)[number]>({
  type: 'string',
  enum: [...WHATSAPP_STATUSES],
});
export const WhatsappSentV1 = Type.Object(
  {
    ...base,
    to: E164,
    messageSid: Type.String({ pattern: '^(SM|MM)[0-9a-fA-F]{32}$' }),
    status: WhatsappStatus,
    via: Type.Optional(
      Type.Unsafe<'whatsapp' | 'sms'>({
        type: 'string',
        enum: ['whatsapp', 'sms'],
        description:
          'Which way the message went: `sms` when WhatsApp could not reach the number (absent: whatsapp)',
      }),
    ),
    fallbackReason: Type.Optional(Type.String({ maxLength: 1000 })),
  },
  closed('event.whatsapp.sent.v1', 'WhatsApp message accepted by Twilio'),
);
export const WhatsappStatusV1 = Type.Object(
  {
    ...base,
    messageSid: Type.String({ pattern: '^(SM|MM)[0-9a-fA-F]{32}$' }),
    status: WhatsappStatus,
    errorCode: Type.Optional(Type.Integer()),
  },
  closed('event.whatsapp.status.v1', 'WhatsApp delivery status from a Twilio callback'),
);
export const WhatsappFailedV1 = Type.Object(
  { ...base, reason: Reason, errorCode: Type.Optional(Type.Integer()) },
  closed('event.whatsapp.failed.v1', 'WhatsApp send failed permanently'),
);

export const WhatsappSkippedV1 = Type.Object(
  { ...base, reason: Reason },
  closed(
    'event.whatsapp.skipped.v1',
    'WhatsApp (and SMS) not sent: the customer opted out (final; the channel is done)',
  ),
);

export const ShipmentCreatedV1 = Type.Object(
  {
    ...base,
    shipmentId: Uuid,
    carrier: Text(60),
    serviceLevel: Text(60),
    trackingNumber: Text(40),
    estimatedDelivery: Type.String({ format: 'date' }),
    totalWeightGrams: Type.Integer({ minimum: 0 }),
  },
  closed('event.shipment.created.v1', 'Shipment created'),
);
export const ShipmentRejectedV1 = Type.Object(
  { ...base, reason: Reason },
  closed('event.shipment.rejected.v1', 'Order cannot be shipped'),
);

export const PaymentAuthorizedV1 = Type.Object(
  { ...base, authorizationId: Text(64), amount: MinorUnits, currency: Currency, gateway: Text(60) },
  closed('event.payment.authorized.v1', 'Payment authorised'),
);
export const PaymentDeclinedV1 = Type.Object(
  { ...base, code: Text(60), reason: Reason, amount: MinorUnits, currency: Currency, gateway: Text(60) },
  closed('event.payment.declined.v1', 'Payment declined'),
);

export const FRAUD_DECISIONS = ['approve', 'review', 'reject'] as const;
export const FraudAssessedV1 = Type.Object(
  {
    ...base,
    score: Type.Integer({ minimum: 0, maximum: 100 }),
    decision: Type.Unsafe<(typeof FRAUD_DECISIONS)[number]>({ type: 'string', enum: [...FRAUD_DECISIONS] }),
    rules: Type.Array(
      Type.Object(
        {
          id: Text(60),
          points: Type.Integer({ minimum: -100, maximum: 100 }),
          detail: Type.String({ maxLength: 300 }),
        },
        { additionalProperties: false },
      ),
      { maxItems: 50 },
    ),
  },
  closed('event.fraud.assessed.v1', 'Fraud assessment'),
);

// Delivery lifecycle events, published by the consumer runner itself for any channel.
export const DeliveryRetryingV1 = Type.Object(
  {
    ...base,
    channel: Text(20),
    attempt: Type.Integer({ minimum: 1 }),
    delayMs: Type.Integer({ minimum: 0 }),
    reason: Reason,
  },
  closed('event.delivery.retrying.v1', 'A delivery failed transiently and will be retried'),
);
export const DeliveryDeadLetteredV1 = Type.Object(
  { ...base, channel: Text(20), attempts: Type.Integer({ minimum: 1 }), reason: Reason },
  closed('event.delivery.dead_lettered.v1', 'A delivery was moved to the dead-letter queue'),
);
