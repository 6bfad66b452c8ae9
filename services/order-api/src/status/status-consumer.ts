import { orderEventsConsumer } from '@notify/contracts';
import { Consumer } from '@notify/messaging';
import type { Broker, Delivery, Publisher } from '@notify/messaging';
import { consumerMetrics } from '@notify/service-kit';
import type { Logger, Registry } from '@notify/service-kit';
import type { StatusRepository } from '../adapters/status-repository.js';
import { channelUpdateOf, OUTCOME_CONTRACTS } from './outcome-events.js';
import type { OutcomeContract, OutcomeDelivery } from './outcome-events.js';

export interface StatusConsumerOptions {
  readonly broker: Broker;
  readonly publisher: Publisher;
  readonly statuses: StatusRepository;
  readonly registry: Registry;
  readonly logger: Logger;
  readonly prefetch?: number;
}

/**
 * Folds the services' outcome events (queue `order-api.events`, bound to every key of
 * `order.events`) into the channel states. Applying an event is idempotent, so a
 * redelivered or duplicated event is simply applied again and changes nothing; an
 * event for an order this API does not know is logged and dropped.
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
    handler: async (delivery: Delivery<OutcomeContract>) => {
      const update = channelUpdateOf(delivery as unknown as OutcomeDelivery);
      const result = await options.statuses.apply(update);
      if (result === 'unknown-order') {
        delivery.ctx.logger?.warn(
          { orderId: update.orderId, channel: update.channel, event: delivery.key },
          'outcome event for an unknown order; dropped',
        );
      } else {
        delivery.ctx.logger?.debug(
          { channel: update.channel, event: delivery.key, result },
          'outcome applied',
        );
      }
    },
  });
}
