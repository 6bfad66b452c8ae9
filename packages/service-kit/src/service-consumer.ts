import { channelConsumers, EXCHANGES, notifications, orderEventsConsumer } from '@notify/contracts';
import type { Channel, ConsumerTopology, Contract } from '@notify/contracts';
import { combineObservers, Consumer, fateOfError } from '@notify/messaging';
import type {
  Broker,
  ConsumerObserver,
  ConsumerStatus,
  Delivery,
  Fate,
  MessageContext,
  PausePolicy,
  Publisher,
  RetryPolicy,
  TopologySpec,
  WindowOptions,
} from '@notify/messaging';
import type { Logger } from 'pino';
import { asDependencyOutage } from './database-errors.js';
import { deliveryEventsObserver } from './delivery-events.js';

/**
 * PREFETCH of the services whose consumer runs in window mode. A window's time is mostly
 * waiting (its commit, its events' confirms), whatever its size, so a service drains about
 * prefetch / window time: a larger prefetch is what lets windows grow and overlap.
 */
export const WINDOW_PREFETCH = 64;

/** One queue a service consumes, and what becomes of each of its messages. */
export interface ConsumerSpec<C extends Contract> {
  readonly topology: ConsumerTopology;
  /** The contracts the queue carries; anything else is dead-lettered as invalid. */
  readonly contracts: readonly C[];
  /**
   * Runs the use case and returns the message's fate (nothing means ack); `unavailable`
   * pauses the consumer until the dependency is back. A throw that is a database outage
   * (database-errors.ts) pauses it too; any other throw is an unexpected failure,
   * retried while attempts remain.
   */
  readonly handle: (delivery: Delivery<C>) => Promise<Fate | void>;
  /** Idempotency hook: true acks a message whose effect is already recorded. */
  readonly alreadyProcessed?: (ctx: MessageContext) => Promise<boolean>;
  /**
   * Window mode (`WindowOptions` in @notify/messaging): the deliveries that arrive
   * together are handled as one unit, each keeping its own fate; `handle` stays the path
   * for a lone message and for each message of a window that failed as a whole.
   */
  readonly window?: WindowOptions<C>;
  /** Publishes `<channel>.retrying` / `<channel>.dead_lettered` for this channel (delivery-events.ts). */
  readonly deliveryEvents?: Channel;
  /** Unacked messages at once; default PREFETCH. */
  readonly prefetch?: number;
  /** Where the handler publishes, declared before the consumer starts. */
  readonly declares?: TopologySpec;
}

/** What the composition root gives every consumer it creates. */
export interface ConsumerRuntime {
  readonly broker: Broker;
  readonly publisher: Publisher;
  readonly logger: Logger;
  /** Told of every consumer's outcomes (metrics). */
  readonly observer: ConsumerObserver;
  readonly prefetch: number;
  readonly retry: Partial<RetryPolicy>;
  /** How long a consumer paused by an outage waits between tries; the runner's default otherwise. */
  readonly pause?: Partial<PausePolicy> | undefined;
}

/** A consumer as the composition root runs it, whatever its contracts. */
export interface RunningConsumer {
  readonly queue: string;
  readonly isConsuming: boolean;
  /** Consuming, or paused by an outage (the dependency and why). */
  readonly status: ConsumerStatus;
  /** Messages being handled right now. */
  readonly active: number;
  start(): Promise<void>;
  waitUntilConsuming(timeoutMs?: number): Promise<void>;
  stop(timeoutMs?: number): Promise<void>;
}

/** A consumer a service declares; the composition root creates, starts and stops it. */
export interface ServiceConsumer {
  readonly queue: string;
  create(runtime: ConsumerRuntime): RunningConsumer;
}

/** Declares a consumer of any queue (the order API's outcome events, for one). */
export function serviceConsumer<C extends Contract>(spec: ConsumerSpec<C>): ServiceConsumer {
  const queue = spec.topology.queue.name;
  return {
    queue,
    create(runtime) {
      const consumer = new Consumer<C>(runtime.broker, {
        topology: spec.topology,
        contracts: spec.contracts,
        publisher: runtime.publisher,
        prefetch: spec.prefetch ?? runtime.prefetch,
        retry: runtime.retry,
        ...(runtime.pause ? { pause: runtime.pause } : {}),
        // A database outage is no message's fault: pause instead of spending attempts.
        handler: async (delivery) => {
          try {
            return await spec.handle(delivery);
          } catch (err) {
            throw asDependencyOutage(err);
          }
        },
        ...(spec.alreadyProcessed ? { alreadyProcessed: spec.alreadyProcessed } : {}),
        ...(spec.window ? { window: spec.window } : {}),
        observer: spec.deliveryEvents
          ? combineObservers(
              runtime.observer,
              deliveryEventsObserver({
                channel: spec.deliveryEvents,
                publisher: runtime.publisher,
                logger: runtime.logger,
              }),
            )
          : runtime.observer,
        logger: runtime.logger,
      });
      return {
        queue,
        get isConsuming() {
          return consumer.isConsuming;
        },
        get status() {
          return consumer.status;
        },
        get active() {
          return consumer.active;
        },
        async start() {
          if (spec.declares) await runtime.broker.addTopology(spec.declares);
          await consumer.start();
        },
        waitUntilConsuming: (timeoutMs) => consumer.waitUntilConsuming(timeoutMs),
        stop: (timeoutMs) => consumer.stop(timeoutMs),
      };
    },
  };
}

/**
 * A window's fates from each message's own settled result: a value goes through `fateOf`,
 * a rejection counts as the per-message handler's throw would (a database outage pauses,
 * anything else is retried or dead-lettered by its class).
 */
export function settledFates<T>(
  results: readonly PromiseSettledResult<T>[],
  fateOf: (value: T) => Fate,
): Fate[] {
  return results.map((r) =>
    r.status === 'fulfilled' ? fateOf(r.value) : fateOfError(asDependencyOutage(r.reason)),
  );
}

export type ChannelContract<Ch extends Channel> = (typeof notifications)[Ch];

/**
 * Outcome events are published mandatory; declaring the order API's event queue and its
 * binding means they are never returned just because the API started later. Only that
 * much: its dead-letter and retry queues are the order API's to declare, and a channel
 * service's broker user may not (infra/rabbitmq/definitions.json).
 */
const OUTCOME_EVENTS: TopologySpec = {
  exchanges: Object.values(EXCHANGES),
  queues: [orderEventsConsumer.queue],
  bindings: orderEventsConsumer.bindings.filter(
    (b) => b.exchange === EXCHANGES.events.name && b.queue === orderEventsConsumer.queue.name,
  ),
};

/** The consumer of one channel's queue: its contract, lifecycle events and outcome events. */
export function channelConsumer<Ch extends Channel>(
  channel: Ch,
  spec: Pick<ConsumerSpec<ChannelContract<Ch>>, 'handle' | 'alreadyProcessed' | 'prefetch' | 'window'>,
): ServiceConsumer {
  return serviceConsumer<ChannelContract<Ch>>({
    ...spec,
    topology: channelConsumers[channel],
    contracts: [notifications[channel]],
    deliveryEvents: channel,
    declares: OUTCOME_EVENTS,
  });
}
