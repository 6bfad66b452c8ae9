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
  /** Outcome events from every service, routed by `<subject>.<outcome>`. */
  events: { name: 'order.events', type: 'topic', arguments: {} },
  /** Customer preferences from the order API, to every service that keeps a copy. */
  preferences: { name: 'customer.preferences', type: 'fanout', arguments: {} },
} as const satisfies Record<string, ExchangeSpec>;

/**
 * Returns the broker allows a message before it dead-letters it by itself. It only bites
 * when a consumer dies or loses its channel while holding a message again and again (a
 * poison message that kills the process): ordinary failures are routed by the consumer
 * runner, and an outage pauses consumption without returning anything.
 */
export const DELIVERY_LIMIT = 20;

/**
 * The delivery limit of queues that must never drop a message however often it is looked
 * at and given back (dead letters, unroutable messages): they have nowhere to dead-letter
 * to. Stated, because RabbitMQ 4.0 gives a quorum queue without one a limit of 20 where
 * 3.10 has none; and a large number, because `-1` means "unlimited" on 4.0 but "drop at
 * the first return" on 3.10. Both versions declare this value (also through a policy or a
 * definitions file) and keep a message past 25 returns; it is the largest signed 32-bit
 * integer, which every AMQP client encodes the same way (tools/rabbitmq4/README.md).
 */
export const KEEP_FOREVER_DELIVERY_LIMIT = 2_147_483_647;

const quorum = (extra: Record<string, unknown> = {}) => ({ 'x-queue-type': 'quorum', ...extra });

/**
 * What the broker dead-letters from a queue to `exchange`, confirmed by the target before
 * it lets go (at-least-once needs reject-publish, or the broker falls back to at-most-once
 * with only a line in its log).
 */
const deadLetterTo = (exchange: string, routingKey: string) => ({
  'x-dead-letter-exchange': exchange,
  'x-dead-letter-routing-key': routingKey,
  'x-dead-letter-strategy': 'at-least-once',
  'x-overflow': 'reject-publish',
});

/**
 * What the alternate exchange catches. Its name differs from the exchange's on purpose:
 * broker permissions match exchanges and queues by one name, so a user allowed to read
 * this queue (the order API) would otherwise also read the exchange, which is what a
 * binding needs from its source.
 */
export const UNROUTABLE_QUEUE: QueueSpec = {
  name: 'notification.unroutable.queue',
  arguments: quorum({ 'x-delivery-limit': KEEP_FOREVER_DELIVERY_LIMIT }),
};

/** How many delay levels a consumer has; later attempts reuse the last level. */
export const RETRY_LEVELS = 5;

export interface ConsumerTopology {
  readonly queue: QueueSpec;
  readonly deadLetterQueue: QueueSpec;
  readonly retryQueues: readonly QueueSpec[];
  /** Every queue of the consumer: work, dead-letter and holding queues. */
  readonly queues: readonly QueueSpec[];
  /**
   * `<queue>.retry`: the consumer's own way back into its work queue (routing key = the
   * queue's name) and into its holding queues (routing key = the holding queue's name).
   * Only the consumer's broker user and the operator's replay publish to it.
   */
  readonly retryExchange: ExchangeSpec;
  /** `<queue>.dlx`: where the consumer and the broker put the work queue's dead letters. */
  readonly deadLetterExchange: ExchangeSpec;
  /** The consumer's own exchanges (retry and dead-letter). */
  readonly exchanges: readonly ExchangeSpec[];
  readonly bindings: readonly BindingSpec[];
  /** Routing key on the retry exchange for a given 1-based retry level. */
  retryRoutingKey(level: number): string;
  /** Routing key on the retry exchange that reaches the work queue at once (replay). */
  readonly workRoutingKey: string;
  /** Routing key on the dead-letter exchange. */
  readonly deadLetterRoutingKey: string;
}

/**
 * The queues, exchanges and bindings of one consumer: its work queue bound to its
 * sources, a dead-letter queue, and RETRY_LEVELS holding queues whose messages expire
 * back into the work queue. Holding queues are per level so that a long delay never sits
 * in front of a short one (per-message TTL only expires at the head of a queue). The
 * retry and dead-letter exchanges are the consumer's own, so that a party allowed to
 * re-route its own messages reaches no other party's queue.
 */
export function consumerTopology(
  queueName: string,
  sources: readonly { exchange: string; routingKey: string }[],
): ConsumerTopology {
  const retryKey = (level: number) => `${queueName}.retry.${level}`;
  const retryExchange: ExchangeSpec = { name: `${queueName}.retry`, type: 'direct', arguments: {} };
  const deadLetterExchange: ExchangeSpec = { name: `${queueName}.dlx`, type: 'direct', arguments: {} };
  const queue: QueueSpec = {
    name: queueName,
    arguments: quorum({
      'x-delivery-limit': DELIVERY_LIMIT,
      ...deadLetterTo(deadLetterExchange.name, queueName),
    }),
  };
  const deadLetterQueue: QueueSpec = {
    name: `${queueName}.dlq`,
    arguments: quorum({ 'x-delivery-limit': KEEP_FOREVER_DELIVERY_LIMIT }),
  };
  const retryQueues: QueueSpec[] = [];
  for (let level = 1; level <= RETRY_LEVELS; level++) {
    retryQueues.push({
      name: retryKey(level),
      // Nobody consumes a holding queue; the limit only bounds what looking at one costs
      // (past it, a message goes back to the work queue early, never away).
      arguments: quorum({
        'x-delivery-limit': DELIVERY_LIMIT,
        ...deadLetterTo(retryExchange.name, queueName),
      }),
    });
  }
  const bindings: BindingSpec[] = [
    ...sources.map((s) => ({ exchange: s.exchange, queue: queueName, routingKey: s.routingKey })),
    { exchange: retryExchange.name, queue: queueName, routingKey: queueName },
    { exchange: deadLetterExchange.name, queue: deadLetterQueue.name, routingKey: queueName },
    ...retryQueues.map((q, i) => ({
      exchange: retryExchange.name,
      queue: q.name,
      routingKey: retryKey(i + 1),
    })),
  ];
  return {
    queue,
    deadLetterQueue,
    retryQueues,
    queues: [queue, deadLetterQueue, ...retryQueues],
    retryExchange,
    deadLetterExchange,
    exchanges: [retryExchange, deadLetterExchange],
    bindings,
    retryRoutingKey: (level: number) => retryKey(Math.min(Math.max(1, level), RETRY_LEVELS)),
    workRoutingKey: queueName,
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

/** The channels whose services keep a copy of customer preferences (contracts' PREFERENCE_CHANNELS). */
export type PreferenceCopyChannel = Extract<Channel, 'email' | 'whatsapp'>;

/** Each preference-checking service's queue of preference changes, `<channel>.preferences`. */
export const preferenceConsumers: Readonly<Record<PreferenceCopyChannel, ConsumerTopology>> = {
  email: consumerTopology('email.preferences', [{ exchange: EXCHANGES.preferences.name, routingKey: '' }]),
  whatsapp: consumerTopology('whatsapp.preferences', [
    { exchange: EXCHANGES.preferences.name, routingKey: '' },
  ]),
};

/** Every consumer of the system: the channels' services (work and preferences) and the order API's status consumer. */
export const ALL_CONSUMERS: readonly ConsumerTopology[] = [
  ...Object.values(channelConsumers),
  ...Object.values(preferenceConsumers),
  orderEventsConsumer,
];

/** The exchanges shared by all parties (each consumer's own are in its ConsumerTopology). */
export const ALL_EXCHANGES: readonly ExchangeSpec[] = Object.values(EXCHANGES);

/** The whole topology: what a definitions file for the broker contains. */
export function fullTopology() {
  return {
    exchanges: [...ALL_EXCHANGES, ...ALL_CONSUMERS.flatMap((c) => c.exchanges)],
    queues: [UNROUTABLE_QUEUE, ...ALL_CONSUMERS.flatMap((c) => c.queues)],
    bindings: [
      { exchange: EXCHANGES.unroutable.name, queue: UNROUTABLE_QUEUE.name, routingKey: '' },
      ...ALL_CONSUMERS.flatMap((c) => c.bindings),
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
  /**
   * The verified identity (broker user) of whoever first published a message that the
   * system republished (retry, dead letter, replay): the republisher's own user id goes
   * into the `user-id` property, which the broker checks. Trusted only on a message that
   * arrived through the consumer's own retry or dead-letter exchange.
   */
  publishedBy: 'x-published-by',
  traceparent: 'traceparent',
} as const;
