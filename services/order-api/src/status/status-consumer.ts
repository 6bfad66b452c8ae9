import { orderEventsConsumer } from '@notify/contracts';
import { Consumer, errorMessage, Fates } from '@notify/messaging';
import type { Broker, Delivery, Fate, Publisher } from '@notify/messaging';
import { consumerMetrics } from '@notify/service-kit';
import type { Logger, Registry } from '@notify/service-kit';
import { isDatabaseOutage } from '../adapters/database-errors.js';
import { applyOutcome } from './apply-outcome.js';
import type { ChannelStatusStore, OutcomeApplied } from './apply-outcome.js';
import { OUTCOME_CONTRACTS } from './outcome-events.js';
import type { OutcomeContract, OutcomeDelivery } from './outcome-events.js';

export interface StatusConsumerOptions {
  readonly broker: Broker;
  readonly publisher: Publisher;
  readonly statuses: ChannelStatusStore;
  readonly registry: Registry;
  readonly logger: Logger;
  readonly prefetch?: number;
}

/**
 * What becomes of an outcome event: every result of applying it is an ack (an event
 * for an order this API does not know is logged and dropped, since no retry would make
 * the order appear). A database outage is not the event's fault, so it says so instead
 * of spending the event's attempts; any other failure throws and is retried.
 */
export function outcomeEventHandler(
  statuses: ChannelStatusStore,
): (delivery: Delivery<OutcomeContract>) => Promise<Fate> {
  return async (delivery) => {
    let applied: OutcomeApplied;
    try {
      applied = await applyOutcome(statuses, delivery as unknown as OutcomeDelivery);
    } catch (err) {
      if (isDatabaseOutage(err)) return Fates.unavailable('database', errorMessage(err));
      throw err;
    }
    const { update, result } = applied;
    if (result === 'unknown-order') {
      delivery.ctx.logger?.warn(
        { orderId: update.orderId, channel: update.channel, event: delivery.key },
        'outcome event for an unknown order; dropped',
      );
    } else {
      delivery.ctx.logger?.debug({ channel: update.channel, event: delivery.key, result }, 'outcome applied');
    }
    return Fates.ack();
  };
}

/**
 * Folds the services' outcome events (queue `order-api.events`, bound to every key of
 * `order.events`) into the channel states.
 */
export function createStatusConsumer(options: StatusConsumerOptions): Consumer<OutcomeContract> {
  return new Consumer(options.broker, {
    topology: orderEventsConsumer,
    contracts: OUTCOME_CONTRACTS,
    publisher: options.publisher,
    prefetch: options.prefetch ?? 32,
    observer: consumerMetrics(options.registry),
    // The consumer names itself (component and queue) on its own child logger; a child
    // here would repeat the component key on every line.
    logger: options.logger,
    handler: outcomeEventHandler(options.statuses),
  });
}
