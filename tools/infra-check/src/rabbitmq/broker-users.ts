import {
  ALL_EXCHANGES,
  CHANNELS,
  EXCHANGES,
  channelConsumers,
  deliveryEvents,
  events,
  fullTopology,
  orderEventsConsumer,
} from '@notify/contracts';
import type { Channel, Contract, ConsumerTopology } from '@notify/contracts';
import type { ServiceName } from '../service-catalogue.js';

// Who may do what on the broker, derived from the topology in @notify/contracts.
//
// RabbitMQ checks, per vhost and by resource name (exchanges and queues share one
// namespace):
//   configure  exchange.declare, queue.declare (also of what already exists), deletes
//   write      basic.publish on the exchange; queue.bind on the destination queue
//   read       basic.consume/get on the queue; queue.bind on the source exchange
// Creating (not re-declaring) a queue with a dead-letter exchange also needs read on
// the queue and write on that exchange, and creating an exchange with an alternate
// exchange needs read on it and write on the alternate. The definitions file creates
// the whole topology before any service connects, so a service only re-declares what
// it uses; the grants below let each consumer create its own queues as well, but never
// let the order API create (and so read) a channel's work queue.

export interface BrokerGrant {
  /** Broker user name: the service's name, or `keda` for the autoscaler. */
  readonly user: ServiceName | typeof QUEUE_DEPTH_USER;
  /** Names (exchanges and queues) the user may declare. */
  readonly configure: readonly string[];
  readonly write: readonly string[];
  readonly read: readonly string[];
  /** Routing keys this user may publish to the `order.events` topic exchange; undefined = any. */
  readonly eventRoutingKeys?: readonly string[];
}

/** Outcome events each channel's service publishes, besides the runner's lifecycle events. */
const OUTCOME_EVENTS: Record<Channel, readonly Contract[]> = {
  email: [events.emailSent, events.emailFailed],
  whatsapp: [events.whatsappSent, events.whatsappStatus, events.whatsappFailed],
  logistic: [events.shipmentCreated, events.shipmentRejected],
  payment: [events.paymentAuthorized, events.paymentDeclined],
  fraud: [events.fraudAssessed],
};

const exchangeNames = ALL_EXCHANGES.map((e) => e.name);

function queueNames(t: ConsumerTopology): string[] {
  return [t.queue.name, t.deadLetterQueue.name, ...t.retryQueues.map((q) => q.name)];
}

/** What running a consumer on topology `t` takes: declare, bind, consume, retry, dead-letter. */
function consumerNeeds(t: ConsumerTopology) {
  return {
    configure: [...exchangeNames, ...queueNames(t)],
    write: [...queueNames(t), EXCHANGES.retry.name, EXCHANGES.deadLetter.name],
    read: [t.queue.name, ...t.retryQueues.map((q) => q.name), ...t.bindings.map((b) => b.exchange)],
  };
}

function channelGrant(channel: Channel): BrokerGrant {
  const needs = consumerNeeds(channelConsumers[channel]);
  const life = deliveryEvents[channel];
  return {
    user: channel,
    configure: needs.configure,
    write: [...needs.write, EXCHANGES.events.name],
    read: needs.read,
    eventRoutingKeys: [...OUTCOME_EVENTS[channel], life.retrying, life.deadLettered].map((c) => c.routingKey),
  };
}

function orderApiGrant(): BrokerGrant {
  const full = fullTopology();
  const needs = consumerNeeds(orderEventsConsumer);
  const channelDeadLetterQueues = CHANNELS.map((c) => channelConsumers[c].deadLetterQueue.name);
  return {
    user: 'order-api',
    // The API re-declares every queue so that an order placed before a consumer ever ran
    // still waits in its queue.
    configure: [...needs.configure, ...full.queues.map((q) => q.name)],
    write: [...needs.write, ...full.bindings.map((b) => b.queue), EXCHANGES.notification.name],
    // Dead letters of every channel are read back by the replay feature.
    read: [...needs.read, ...full.bindings.map((b) => b.exchange), ...channelDeadLetterQueues],
  };
}

/**
 * KEDA reads queue depth with a passive queue.declare, which RabbitMQ allows without any
 * permission: the user only needs to be let into the vhost.
 */
export const QUEUE_DEPTH_USER = 'keda';

function queueDepthGrant(): BrokerGrant {
  return { user: QUEUE_DEPTH_USER, configure: [], write: [], read: [] };
}

export function brokerGrants(): BrokerGrant[] {
  return [orderApiGrant(), ...CHANNELS.map(channelGrant), queueDepthGrant()];
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** An anchored regex matching exactly these names; `^$` (nothing) when there are none. */
export function exactNames(names: readonly string[]): string {
  const unique = [...new Set(names)].sort();
  return unique.length ? `^(?:${unique.map(escapeRegex).join('|')})$` : '^$';
}
