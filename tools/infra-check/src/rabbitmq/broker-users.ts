import {
  ALL_EXCHANGES,
  CHANNELS,
  EXCHANGES,
  channelConsumers,
  deliveryEvents,
  events,
  fullTopology,
  notifications,
  orderEventsConsumer,
} from '@notify/contracts';
import type {
  BindingSpec,
  Channel,
  Contract,
  ConsumerTopology,
  ExchangeSpec,
  QueueSpec,
} from '@notify/contracts';
import type { ServiceName } from '../service-catalogue.js';

// Who may do what on the broker, derived from what each service does with the topology
// of @notify/contracts (as packages/messaging and packages/service-kit do it).
//
// RabbitMQ checks, per vhost and by resource name (exchanges and queues share one
// namespace):
//   configure  exchange.declare, queue.declare (also of what already exists), deletes
//   write      basic.publish on the exchange; queue.bind on the destination queue
//   read       basic.consume/get on the queue; queue.bind on the source exchange
// and, with topic permissions on a topic exchange, the routing keys published (write)
// and bound (read). Creating (not re-declaring) a queue with a dead-letter exchange also
// needs read on the queue and write on that exchange. The definitions file creates the
// whole topology before any service connects, so services re-declare; each consumer may
// also create its own queues, but the order API can never create (and so read) a
// channel's work queue.

export interface TopologyUse {
  readonly exchanges: readonly ExchangeSpec[];
  readonly queues: readonly QueueSpec[];
  readonly bindings: readonly BindingSpec[];
}

export interface BrokerUse {
  readonly user: ServiceName | typeof QUEUE_DEPTH_USER;
  /** What the service declares on every connect. */
  readonly declares: TopologyUse;
  /** Exchanges it publishes to, with the routing keys when they are fixed. */
  readonly publishes: readonly { readonly exchange: string; readonly routingKeys: readonly string[] }[];
  readonly consumes: readonly string[];
  /** Queues it may create when missing (its own). */
  readonly creates: readonly QueueSpec[];
}

export interface BrokerGrant {
  readonly user: BrokerUse['user'];
  /** Names (exchanges and queues) the user may declare. */
  readonly configure: readonly string[];
  readonly write: readonly string[];
  readonly read: readonly string[];
  /** Routing keys on the `order.events` topic exchange: published, and bound from. */
  readonly eventRoutingKeys?: { readonly write: readonly string[]; readonly read: readonly string[] };
}

/** KEDA reads queue depth with a passive queue.declare, which needs no permission. */
export const QUEUE_DEPTH_USER = 'keda';

/** Outcome events each channel's service publishes, besides the runner's lifecycle events. */
const OUTCOME_EVENTS: Record<Channel, readonly Contract[]> = {
  email: [events.emailSent, events.emailFailed],
  whatsapp: [events.whatsappSent, events.whatsappStatus, events.whatsappFailed],
  logistic: [events.shipmentCreated, events.shipmentRejected],
  payment: [events.paymentAuthorized, events.paymentDeclined],
  fraud: [events.fraudAssessed],
};

function merge(...parts: TopologyUse[]): TopologyUse {
  return {
    exchanges: [...new Map(parts.flatMap((p) => p.exchanges).map((e) => [e.name, e])).values()],
    queues: [...new Map(parts.flatMap((p) => p.queues).map((q) => [q.name, q])).values()],
    bindings: parts.flatMap((p) => p.bindings),
  };
}

/** What the consumer runner declares for topology `t`. */
function consumerDeclares(t: ConsumerTopology): TopologyUse {
  return { exchanges: [...ALL_EXCHANGES, ...t.exchanges], queues: t.queues, bindings: t.bindings };
}

/** Consumer services also declare the order API's event queue, so their events are never unroutable. */
function orderEventsQueueDeclare(): TopologyUse {
  return {
    exchanges: ALL_EXCHANGES,
    queues: [orderEventsConsumer.queue],
    bindings: orderEventsConsumer.bindings.filter(
      (b) => b.exchange === EXCHANGES.events.name && b.queue === orderEventsConsumer.queue.name,
    ),
  };
}

/** The order API re-declares every queue but its own so orders wait even before a consumer ever ran. */
function orderApiPublisherDeclares(): TopologyUse {
  const full = fullTopology();
  const own = new Set(orderEventsConsumer.queues.map((q) => q.name));
  return {
    exchanges: full.exchanges,
    queues: full.queues.filter((q) => !own.has(q.name)),
    bindings: full.bindings.filter((b) => !own.has(b.queue)),
  };
}

export function brokerUses(): BrokerUse[] {
  // Each consumer re-routes through its own exchanges; the order API also replays dead
  // letters into every consumer's retry exchange.
  const retryAndDeadLetter = (t: ConsumerTopology) => [
    { exchange: t.retryExchange.name, routingKeys: [] },
    { exchange: t.deadLetterExchange.name, routingKeys: [] },
  ];
  return [
    {
      user: 'order-api',
      declares: merge(orderApiPublisherDeclares(), consumerDeclares(orderEventsConsumer)),
      publishes: [
        {
          exchange: EXCHANGES.notification.name,
          routingKeys: CHANNELS.map((c) => notifications[c].routingKey),
        },
        ...retryAndDeadLetter(orderEventsConsumer),
        ...CHANNELS.map((c) => ({ exchange: channelConsumers[c].retryExchange.name, routingKeys: [] })),
      ],
      // Its status consumer, and the dead letters of every channel and its own, for replay.
      consumes: [
        orderEventsConsumer.queue.name,
        orderEventsConsumer.deadLetterQueue.name,
        ...CHANNELS.map((c) => channelConsumers[c].deadLetterQueue.name),
      ],
      creates: orderEventsConsumer.queues,
    },
    ...CHANNELS.map((c): BrokerUse => ({
      user: c,
      declares: merge(consumerDeclares(channelConsumers[c]), orderEventsQueueDeclare()),
      publishes: [
        ...retryAndDeadLetter(channelConsumers[c]),
        {
          exchange: EXCHANGES.events.name,
          routingKeys: [...OUTCOME_EVENTS[c], deliveryEvents[c].retrying, deliveryEvents[c].deadLettered].map(
            (e) => e.routingKey,
          ),
        },
      ],
      consumes: [channelConsumers[c].queue.name],
      creates: channelConsumers[c].queues,
    })),
    {
      user: QUEUE_DEPTH_USER,
      declares: { exchanges: [], queues: [], bindings: [] },
      publishes: [],
      consumes: [],
      creates: [],
    },
  ];
}

function grantFor(use: BrokerUse): BrokerGrant {
  const withDeadLetter = use.creates.filter((q) => typeof q.arguments['x-dead-letter-exchange'] === 'string');
  const eventBindings = use.declares.bindings.filter((b) => b.exchange === EXCHANGES.events.name);
  const eventPublishes = use.publishes.filter((p) => p.exchange === EXCHANGES.events.name);
  const touchesEvents = eventBindings.length > 0 || eventPublishes.length > 0;
  return {
    user: use.user,
    configure: [...use.declares.exchanges.map((e) => e.name), ...use.declares.queues.map((q) => q.name)],
    write: [
      ...use.declares.bindings.map((b) => b.queue),
      ...use.publishes.map((p) => p.exchange),
      ...withDeadLetter.map((q) => q.arguments['x-dead-letter-exchange'] as string),
    ],
    read: [
      ...use.declares.bindings.map((b) => b.exchange),
      ...use.consumes,
      ...withDeadLetter.map((q) => q.name),
    ],
    ...(touchesEvents
      ? {
          eventRoutingKeys: {
            write: eventPublishes.flatMap((p) => p.routingKeys),
            read: eventBindings.map((b) => b.routingKey),
          },
        }
      : {}),
  };
}

export function brokerGrants(): BrokerGrant[] {
  return brokerUses().map(grantFor);
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** An anchored regex matching exactly these names; `^$` (nothing) when there are none. */
export function exactNames(names: readonly string[]): string {
  const unique = [...new Set(names)].sort();
  return unique.length ? `^(?:${unique.map(escapeRegex).join('|')})$` : '^$';
}
