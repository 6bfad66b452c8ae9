import { CHANNELS, deliveryEvents, events } from '@notify/contracts';
import type { Channel, Payload } from '@notify/contracts';
import type { ChannelEvent } from '../domain/channel-progress.js';

/** Every contract the order API's event queue carries. */
export const OUTCOME_CONTRACTS = [
  ...Object.values(events),
  ...CHANNELS.flatMap((c) => [deliveryEvents[c].retrying, deliveryEvents[c].deadLettered]),
];
export type OutcomeContract = (typeof OUTCOME_CONTRACTS)[number];

/** A typed outcome event, as the consumer runner hands it over (key names its contract). */
export type OutcomeDelivery = OutcomeContract extends infer C
  ? C extends OutcomeContract
    ? { readonly key: C['routingKey']; readonly payload: Payload<C> }
    : never
  : never;

export interface ChannelUpdate {
  readonly orderId: string;
  readonly channel: Channel;
  readonly event: ChannelEvent;
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/** What an outcome event means for its order's channel. */
export function channelUpdateOf(d: OutcomeDelivery): ChannelUpdate {
  const { orderId, occurredAt } = d.payload;
  const at = { occurredAt };
  switch (d.key) {
    case 'email.sent':
      return {
        orderId,
        channel: 'email',
        event: {
          kind: 'succeeded',
          ...at,
          details: {
            recipient: d.payload.recipient,
            smtpMessageId: d.payload.smtpMessageId,
            locale: d.payload.locale,
            sentAt: occurredAt,
          },
        },
      };
    case 'email.failed':
      return {
        orderId,
        channel: 'email',
        event: {
          kind: 'failed',
          ...at,
          details: {
            failure: {
              reason: d.payload.reason,
              ...optional('smtpResponse', d.payload.smtpResponse),
              at: occurredAt,
            },
          },
        },
      };
    // The customer opted out: the channel is done, as the customer wished, so the order
    // can complete; the details say it was skipped and why.
    case 'email.skipped':
    case 'whatsapp.skipped':
      return {
        orderId,
        channel: d.key === 'email.skipped' ? 'email' : 'whatsapp',
        event: {
          kind: 'succeeded',
          ...at,
          details: { skipped: { reason: d.payload.reason, at: occurredAt } },
        },
      };
    case 'whatsapp.sent':
      return {
        orderId,
        channel: 'whatsapp',
        event: {
          kind: 'delivery',
          ...at,
          status: d.payload.status,
          details: {
            to: d.payload.to,
            messageSid: d.payload.messageSid,
            ...optional('via', d.payload.via),
            ...optional('fallbackReason', d.payload.fallbackReason),
          },
        },
      };
    case 'whatsapp.status':
      return {
        orderId,
        channel: 'whatsapp',
        event: {
          kind: 'delivery',
          ...at,
          status: d.payload.status,
          details: { messageSid: d.payload.messageSid, ...optional('errorCode', d.payload.errorCode) },
        },
      };
    case 'whatsapp.failed':
      return {
        orderId,
        channel: 'whatsapp',
        event: {
          kind: 'failed',
          ...at,
          details: {
            failure: {
              reason: d.payload.reason,
              ...optional('errorCode', d.payload.errorCode),
              at: occurredAt,
            },
          },
        },
      };
    case 'shipment.created': {
      const { orderId: _o, occurredAt: _t, ...shipment } = d.payload;
      return { orderId, channel: 'logistic', event: { kind: 'succeeded', ...at, details: shipment } };
    }
    case 'shipment.rejected':
      return {
        orderId,
        channel: 'logistic',
        event: { kind: 'failed', ...at, details: { failure: { reason: d.payload.reason, at: occurredAt } } },
      };
    case 'payment.authorized': {
      const { orderId: _o, occurredAt: _t, ...authorisation } = d.payload;
      return { orderId, channel: 'payment', event: { kind: 'succeeded', ...at, details: authorisation } };
    }
    case 'payment.declined': {
      const { orderId: _o, occurredAt: _t, code, reason, ...rest } = d.payload;
      return {
        orderId,
        channel: 'payment',
        event: { kind: 'failed', ...at, details: { ...rest, failure: { code, reason, at: occurredAt } } },
      };
    }
    case 'fraud.assessed':
      return {
        orderId,
        channel: 'fraud',
        event: {
          kind: 'succeeded',
          ...at,
          details: { score: d.payload.score, decision: d.payload.decision, rules: d.payload.rules },
        },
      };
    default:
      return lifecycleUpdate(d);
  }
}

type LifecycleDelivery = Exclude<
  OutcomeDelivery,
  { key: Exclude<OutcomeDelivery['key'], `${Channel}.retrying` | `${Channel}.dead_lettered`> }
>;

function lifecycleUpdate(d: LifecycleDelivery): ChannelUpdate {
  const [channel, kind] = d.key.split('.') as [Channel, 'retrying' | 'dead_lettered'];
  const { orderId, occurredAt, reason } = d.payload;
  if (kind === 'retrying' && 'attempt' in d.payload) {
    return {
      orderId,
      channel,
      event: { kind: 'retrying', occurredAt, attempt: d.payload.attempt, delayMs: d.payload.delayMs, reason },
    };
  }
  if (kind === 'dead_lettered' && 'attempts' in d.payload) {
    return {
      orderId,
      channel,
      event: { kind: 'dead_lettered', occurredAt, attempts: d.payload.attempts, reason },
    };
  }
  throw new Error(`event ${d.key} does not carry what its routing key promises`);
}
