import {
  CHANNELS,
  EXCHANGES,
  UNROUTABLE_QUEUE,
  channelConsumers,
  deliveryEvents,
  orderEventsConsumer,
  outcomeEvents,
  preferenceConsumers,
} from '@notify/contracts';
import type { Channel } from '@notify/contracts';
import type { ServiceName } from '../service-catalogue.js';

// Who may do what on the broker in a deployment: each party can do its job and nothing
// more (docs/deployment.md, "Users and permissions").
//
// RabbitMQ checks, per vhost and by resource name (exchanges and queues share one
// namespace, and one regex covers both):
//   configure  exchange.declare, queue.declare (not passive), queue/exchange.delete
//   write      basic.publish on the exchange; queue.bind on the destination queue,
//              exchange.bind on the destination exchange
//   read       basic.consume/get and queue.purge on the queue; queue.bind and
//              exchange.bind on the source exchange
// and, with topic permissions on a topic exchange, the routing keys published (write).
//
// The design:
// - Nobody configures anything. The topology is created once by a deploy step with a
//   privileged user (the definitions import at broker boot, or by an operator), and the
//   services run TOPOLOGY=verify, whose passive declares need no permission.
// - Nobody can bind: a binding needs read on an exchange, and no user reads any exchange
//   (every read below is a queue's name, and no exchange bears one).
// - Each user writes only to exchanges whose every binding leads to a queue it may fill:
//   its own retry and dead-letter exchanges (`<queue>.retry`, `<queue>.dlx`, direct,
//   bound to that consumer's queues alone), `notification` (the order API), and the
//   `order.events` topic exchange, where topic permissions allow each service exactly its
//   own events' routing keys. The default exchange (`amq.default`), which reaches every
//   queue by name, is written by nobody.
// - Each user reads only its own work queue; the order API also the dead-letter queues
//   and the unroutable queue it inspects and replays, and it publishes a replay into the
//   consumer's own retry exchange, which reaches that consumer's queues only.

export interface BrokerUse {
  readonly user: ServiceName | typeof QUEUE_DEPTH_USER;
  /** Exchanges it publishes to, with the routing keys on a topic exchange (topic permissions). */
  readonly publishes: readonly { readonly exchange: string; readonly routingKeys?: readonly string[] }[];
  /** Queues it consumes or reads (basic.get). */
  readonly reads: readonly string[];
}

export interface BrokerGrant {
  readonly user: BrokerUse['user'];
  /** Names (exchanges and queues) the user may declare or delete: none, in this design. */
  readonly configure: readonly string[];
  readonly write: readonly string[];
  readonly read: readonly string[];
  /** Routing keys the user may publish on the `order.events` topic exchange. */
  readonly eventRoutingKeys?: { readonly write: readonly string[]; readonly read: readonly string[] };
}

/** KEDA reads queue depth with a passive queue.declare, which needs no permission. */
export const QUEUE_DEPTH_USER = 'keda';

/** Routing keys a channel's service publishes on `order.events`: its outcomes and the runner's lifecycle events. */
export function eventRoutingKeysOf(channel: Channel): string[] {
  return [
    ...outcomeEvents[channel],
    deliveryEvents[channel].retrying,
    deliveryEvents[channel].deadLettered,
  ].map((e) => e.routingKey);
}

export function brokerUses(): BrokerUse[] {
  return [
    {
      user: 'order-api',
      publishes: [
        { exchange: EXCHANGES.notification.name },
        // Customer preferences, fanned out to the email and whatsapp services' copies.
        { exchange: EXCHANGES.preferences.name },
        // Its status consumer's own retry and dead-letter paths.
        { exchange: orderEventsConsumer.retryExchange.name },
        { exchange: orderEventsConsumer.deadLetterExchange.name },
        // An operator's replay of a channel's dead letters re-enters that channel's queue
        // through its retry exchange; `notification` reaches the same queue anyway.
        ...CHANNELS.map((c) => ({ exchange: channelConsumers[c].retryExchange.name })),
      ],
      reads: [
        orderEventsConsumer.queue.name,
        // Dead letters and unroutable notifications, which it lists and replays.
        orderEventsConsumer.deadLetterQueue.name,
        ...CHANNELS.map((c) => channelConsumers[c].deadLetterQueue.name),
        UNROUTABLE_QUEUE.name,
      ],
    },
    ...CHANNELS.map((c): BrokerUse => {
      // The email and whatsapp services also consume their copy of customer preferences.
      const copy = c === 'email' || c === 'whatsapp' ? preferenceConsumers[c] : undefined;
      return {
        user: c,
        publishes: [
          { exchange: channelConsumers[c].retryExchange.name },
          { exchange: channelConsumers[c].deadLetterExchange.name },
          ...(copy
            ? [{ exchange: copy.retryExchange.name }, { exchange: copy.deadLetterExchange.name }]
            : []),
          { exchange: EXCHANGES.events.name, routingKeys: eventRoutingKeysOf(c) },
        ],
        reads: [channelConsumers[c].queue.name, ...(copy ? [copy.queue.name] : [])],
      };
    }),
    { user: QUEUE_DEPTH_USER, publishes: [], reads: [] },
  ];
}

function grantFor(use: BrokerUse): BrokerGrant {
  const eventPublishes = use.publishes.filter((p) => p.exchange === EXCHANGES.events.name);
  return {
    user: use.user,
    configure: [],
    write: use.publishes.map((p) => p.exchange),
    read: [...use.reads],
    ...(eventPublishes.length > 0
      ? { eventRoutingKeys: { write: eventPublishes.flatMap((p) => p.routingKeys ?? []), read: [] } }
      : {}),
  };
}

export function brokerGrants(): BrokerGrant[] {
  return brokerUses().map(grantFor);
}

/** The broker user each channel's outcome events must come from in a deployment (CHANNEL_OWNERS). */
export function channelOwners(userName: (user: string) => string = (u) => u): string {
  return CHANNELS.map((c) => `${c}=${userName(c)}`).join(',');
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** An anchored regex matching exactly these names; `^$` (nothing) when there are none. */
export function exactNames(names: readonly string[]): string {
  const unique = [...new Set(names)].sort();
  return unique.length ? `^(?:${unique.map(escapeRegex).join('|')})$` : '^$';
}
