import type { Static, TSchema } from 'typebox';
import * as ev from './events.js';
import * as msg from './messages.js';
import { CHANNELS, EXCHANGES } from './topology.js';
import type { Channel } from './topology.js';

/**
 * A contract binds a payload schema to where it travels. Publishers and consumers take
 * a contract, never a bare routing key, so a routing key and a payload type that
 * disagree cannot be written down.
 */
export interface Contract<S extends TSchema = TSchema, K extends string = string> {
  /** AMQP `type` property: `<name>.v<version>`. */
  readonly type: string;
  readonly name: string;
  readonly version: number;
  readonly exchange: string;
  readonly routingKey: K;
  readonly schema: S;
}

export type Payload<C> = C extends Contract<infer S, string> ? Static<S> : never;

function define<S extends TSchema, K extends string>(
  name: string,
  version: number,
  exchange: string,
  routingKey: K,
  schema: S,
): Contract<S, K> {
  return Object.freeze({ type: `${name}.v${version}`, name, version, exchange, routingKey, schema });
}

const n = EXCHANGES.notification.name;
const e = EXCHANGES.events.name;
const p = EXCHANGES.preferences.name;

/** A customer's preferences after a change, from the order API to the email and whatsapp services. */
export const preferencesChanged = define(
  'customer.preferences',
  1,
  p,
  'preferences.changed',
  msg.CustomerPreferencesV1,
);
export type CustomerPreferences = Payload<typeof preferencesChanged>;

/** Messages of the `notification` exchange, one per channel. */
export const notifications = {
  email: define('notification.email', 1, n, 'email', msg.EmailMessageV1),
  whatsapp: define('notification.whatsapp', 1, n, 'whatsapp', msg.WhatsappMessageV1),
  logistic: define('notification.logistic', 1, n, 'logistic', msg.LogisticMessageV1),
  payment: define('notification.payment', 1, n, 'payment', msg.PaymentMessageV1),
  fraud: define('notification.fraud', 1, n, 'fraud', msg.FraudMessageV1),
} as const satisfies Record<Channel, Contract>;

function lifecycle<C extends Channel>(channel: C) {
  return {
    retrying: define('event.delivery.retrying', 1, e, `${channel}.retrying` as const, ev.DeliveryRetryingV1),
    deadLettered: define(
      'event.delivery.dead_lettered',
      1,
      e,
      `${channel}.dead_lettered` as const,
      ev.DeliveryDeadLetteredV1,
    ),
  };
}

/** Outcome events of the `order.events` topic exchange. */
export const events = {
  emailSent: define('event.email.sent', 1, e, 'email.sent', ev.EmailSentV1),
  emailFailed: define('event.email.failed', 1, e, 'email.failed', ev.EmailFailedV1),
  emailSkipped: define('event.email.skipped', 1, e, 'email.skipped', ev.EmailSkippedV1),
  whatsappSent: define('event.whatsapp.sent', 1, e, 'whatsapp.sent', ev.WhatsappSentV1),
  whatsappStatus: define('event.whatsapp.status', 1, e, 'whatsapp.status', ev.WhatsappStatusV1),
  whatsappFailed: define('event.whatsapp.failed', 1, e, 'whatsapp.failed', ev.WhatsappFailedV1),
  whatsappSkipped: define('event.whatsapp.skipped', 1, e, 'whatsapp.skipped', ev.WhatsappSkippedV1),
  shipmentCreated: define('event.shipment.created', 1, e, 'shipment.created', ev.ShipmentCreatedV1),
  shipmentRejected: define('event.shipment.rejected', 1, e, 'shipment.rejected', ev.ShipmentRejectedV1),
  paymentAuthorized: define('event.payment.authorized', 1, e, 'payment.authorized', ev.PaymentAuthorizedV1),
  paymentDeclined: define('event.payment.declined', 1, e, 'payment.declined', ev.PaymentDeclinedV1),
  fraudAssessed: define('event.fraud.assessed', 1, e, 'fraud.assessed', ev.FraudAssessedV1),
} as const;

/** Retry and dead-letter events the consumer runner publishes for each channel. */
export const deliveryEvents = {
  email: lifecycle('email'),
  whatsapp: lifecycle('whatsapp'),
  logistic: lifecycle('logistic'),
  payment: lifecycle('payment'),
  fraud: lifecycle('fraud'),
} as const satisfies Record<Channel, ReturnType<typeof lifecycle>>;

/**
 * Outcome events each channel's service publishes, besides the runner's lifecycle events
 * in deliveryEvents: who sends what on `order.events`, for docs and broker permissions.
 */
export const outcomeEvents = {
  email: [events.emailSent, events.emailFailed, events.emailSkipped],
  whatsapp: [events.whatsappSent, events.whatsappStatus, events.whatsappFailed, events.whatsappSkipped],
  logistic: [events.shipmentCreated, events.shipmentRejected],
  payment: [events.paymentAuthorized, events.paymentDeclined],
  fraud: [events.fraudAssessed],
} as const satisfies Record<Channel, readonly Contract[]>;

export type NotificationContract = (typeof notifications)[Channel];
export type EventContract =
  | (typeof events)[keyof typeof events]
  | (typeof deliveryEvents)[Channel]['retrying']
  | (typeof deliveryEvents)[Channel]['deadLettered'];

export type EmailMessage = Payload<typeof notifications.email>;
export type WhatsappMessage = Payload<typeof notifications.whatsapp>;
export type LogisticMessage = Payload<typeof notifications.logistic>;
export type PaymentMessage = Payload<typeof notifications.payment>;
export type FraudMessage = Payload<typeof notifications.fraud>;

/** Every contract of the system, for tooling (JSON Schema export, docs, lookups by type). */
export const allContracts: readonly Contract[] = [
  ...Object.values(notifications),
  ...Object.values(events),
  preferencesChanged,
  ...CHANNELS.flatMap((c) => [deliveryEvents[c].retrying, deliveryEvents[c].deadLettered]),
];

/** The contract an `order.events` routing key belongs to, for consumers of the topic. */
export function eventContractFor(routingKey: string): Contract | undefined {
  return allContracts.find((c) => c.exchange === e && c.routingKey === routingKey);
}
