// Topology as data. Every exchange, queue, binding and argument of the system is
// spelled here and nowhere else: publishers, consumers, the definitions file for the
// broker and the deployment manifests are all derived from these values.

export const CHANNELS = ['email', 'whatsapp', 'logistic', 'payment', 'fraud'] as const;
export type Channel = (typeof CHANNELS)[number];

export type ExchangeType = 'direct' | 'topic' | 'fanout' | 'headers';

export interface ExchangeSpec {
  readonly name: string;
  readonly type: ExchangeType;
  readonly arguments: Readonly<Record<string, unknown>>;
}

export interface QueueSpec {
  readonly name: string;
  readonly arguments: Readonly<Record<string, unknown>>;
}

export interface BindingSpec {
  readonly exchange: string;
  readonly queue: string;
  readonly routingKey: string;
}

export const EXCHANGES = {
  /** Direct exchange the order API publishes to; one routing key per channel. */
  notification: {
    name: 'notification',
    type: 'direct',
    arguments: { 'alternate-exchange': 'notification.unroutable' },
  },
  /** Catches anything published to `notification` that no queue is bound for. */
  unroutable: { name: 'notification.unroutable', type: 'fanout', arguments: {} },
  /** Delayed retries: routes to per-level holding queues and, on expiry, back to the work queue. */
  retry: { name: 'notification.retry', type: 'direct', arguments: {} },
  /** Dead letters: one queue per consumer, keyed by the consumer's queue name. */
  deadLetter: { name: 'notification.dlx', type: 'direct', arguments: {} },
  /** Outcome events from every service, routed by `<subject>.<outcome>`. */
  events: { name: 'order.events', type: 'topic', arguments: {} },
} as const satisfies Record<string, ExchangeSpec>;

export const UNROUTABLE_QUEUE: QueueSpec = {
  name: 'notification.unroutable',
  arguments: { 'x-queue-type': 'quorum' },
};

/** How many delay levels a consumer has; later attempts reuse the last level. */
export const RETRY_LEVELS = 5;

/**
 * Redeliveries the broker allows before it dead-letters a message by itself. It only
 * bites when a consumer crashes repeatedly while holding a message (a poison message
 * that kills the process); ordinary failures are routed by the consumer runner.
 */
export const DELIVERY_LIMIT = 20;

export interface ConsumerTopology {
  readonly queue: QueueSpec;
  readonly deadLetterQueue: QueueSpec;
  readonly retryQueues: readonly QueueSpec[];
  readonly bindings: readonly BindingSpec[];
  /** Routing key on EXCHANGES.retry for a given 1-based retry level. */
  retryRoutingKey(level: number): string;
  /** Routing key on EXCHANGES.deadLetter. */
  readonly deadLetterRoutingKey: string;
}

const quorum = (extra: Record<string, unknown> = {}) => ({ 'x-queue-type': 'quorum', ...extra });

/**
 * The queues and bindings of one consumer: its work queue bound to its sources, a
 * dead-letter queue, and RETRY_LEVELS holding queues whose messages expire back into
 * the work queue. Holding queues are per level so that a long delay never sits in
 * front of a short one (per-message TTL only expires at the head of a queue).
 */
export function consumerTopology(
  queueName: string,
  sources: readonly { exchange: string; routingKey: string }[],
): ConsumerTopology {
  const retryKey = (level: number) => `${queueName}.retry.${level}`;
  const queue: QueueSpec = {
    name: queueName,
    arguments: quorum({
      'x-delivery-limit': DELIVERY_LIMIT,
      'x-dead-letter-exchange': EXCHANGES.deadLetter.name,
      'x-dead-letter-routing-key': queueName,
    }),
  };
  const deadLetterQueue: QueueSpec = { name: `${queueName}.dlq`, arguments: quorum() };
  const retryQueues: QueueSpec[] = [];
  for (let level = 1; level <= RETRY_LEVELS; level++) {
    retryQueues.push({
      name: retryKey(level),
      arguments: quorum({
        'x-dead-letter-exchange': EXCHANGES.retry.name,
        'x-dead-letter-routing-key': queueName,
        'x-dead-letter-strategy': 'at-least-once',
        'x-overflow': 'reject-publish',
      }),
    });
  }
  const bindings: BindingSpec[] = [
    ...sources.map((s) => ({ exchange: s.exchange, queue: queueName, routingKey: s.routingKey })),
    { exchange: EXCHANGES.retry.name, queue: queueName, routingKey: queueName },
    { exchange: EXCHANGES.deadLetter.name, queue: deadLetterQueue.name, routingKey: queueName },
    ...retryQueues.map((q, i) => ({
      exchange: EXCHANGES.retry.name,
      queue: q.name,
      routingKey: retryKey(i + 1),
    })),
  ];
  return {
    queue,
    deadLetterQueue,
    retryQueues,
    bindings,
    retryRoutingKey: (level: number) => retryKey(Math.min(Math.max(1, level), RETRY_LEVELS)),
    deadLetterRoutingKey: queueName,
  };
}

/** The work queue of each channel's service, bound to `notification` by the channel's routing key. */
export const channelConsumers: Readonly<Record<Channel, ConsumerTopology>> = Object.fromEntries(
  CHANNELS.map((c) => [c, consumerTopology(c, [{ exchange: EXCHANGES.notification.name, routingKey: c }])]),
) as Record<Channel, ConsumerTopology>;

/** The order API's queue of outcome events: every event of every channel. */
export const ORDER_EVENTS_QUEUE = 'order-api.events';
export const orderEventsConsumer = consumerTopology(ORDER_EVENTS_QUEUE, [
  { exchange: EXCHANGES.events.name, routingKey: '#' },
]);

/** Exchanges every process declares (declaration is idempotent). */
export const ALL_EXCHANGES: readonly ExchangeSpec[] = Object.values(EXCHANGES);

/** The whole topology: what a definitions file for the broker contains. */
export function fullTopology() {
  const consumers = [...Object.values(channelConsumers), orderEventsConsumer];
  return {
    exchanges: ALL_EXCHANGES,
    queues: [UNROUTABLE_QUEUE, ...consumers.flatMap((c) => [c.queue, c.deadLetterQueue, ...c.retryQueues])],
    bindings: [
      { exchange: EXCHANGES.unroutable.name, queue: UNROUTABLE_QUEUE.name, routingKey: '' },
      ...consumers.flatMap((c) => c.bindings),
    ] as BindingSpec[],
  };
}

/** AMQP header names the system sets, in one place so a foreign client can read them. */
export const HEADERS = {
  attempt: 'x-attempt',
  deathReason: 'x-death-reason',
  deathDetail: 'x-death-detail',
  deathAt: 'x-death-at',
  originalQueue: 'x-original-queue',
  /** Routing key the message was first published with; retries re-enter under the queue's name. */
  routingKey: 'x-routing-key',
  lastError: 'x-last-error',
  traceparent: 'traceparent',
} as const;
