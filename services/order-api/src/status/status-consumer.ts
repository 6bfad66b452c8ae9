import { orderEventsConsumer } from '@notify/contracts';
import { errorMessage, Fates } from '@notify/messaging';
import type { Delivery, Fate } from '@notify/messaging';
import { isDatabaseOutage, serviceConsumer } from '@notify/service-kit';
import type { ServiceConsumer } from '@notify/service-kit';
import { applyOutcome } from './apply-outcome.js';
import type { ChannelStatusStore, OutcomeApplied } from './apply-outcome.js';
import { refusalOf } from './channel-owners.js';
import type { EventOwnership } from './channel-owners.js';
import { OUTCOME_CONTRACTS } from './outcome-events.js';
import type { OutcomeContract, OutcomeDelivery } from './outcome-events.js';

/**
 * What becomes of an outcome event: every result of applying it is an ack (an event
 * for an order this API does not know is logged and dropped, since no retry would make
 * the order appear). A database outage is not the event's fault, so it says so instead
 * of spending the event's attempts; any other failure throws and is retried.
 *
 * With `ownership`, an event whose broker-verified publisher does not own its channel
 * (channel-owners.ts) is dead-lettered with the reason, counted, and changes nothing.
 */
export function outcomeEventHandler(
  statuses: ChannelStatusStore,
  ownership?: EventOwnership,
): (delivery: Delivery<OutcomeContract>) => Promise<Fate> {
  return async (delivery) => {
    const refusal = ownership ? refusalOf(ownership.owners, delivery.key, delivery.ctx.publishedBy) : null;
    if (ownership && refusal) {
      ownership.refused(refusal);
      delivery.ctx.logger?.warn(
        { event: delivery.key, channel: refusal.channel, publishedBy: delivery.ctx.publishedBy ?? null },
        `outcome event refused: ${refusal.message}`,
      );
      return Fates.deadLetter(refusal.message);
    }
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
 * `order.events`) into the channel states, each only from its channel's owner.
 */
export function statusConsumer(
  statuses: ChannelStatusStore,
  prefetch: number,
  ownership: EventOwnership,
): ServiceConsumer {
  return serviceConsumer<OutcomeContract>({
    topology: orderEventsConsumer,
    contracts: OUTCOME_CONTRACTS,
    prefetch,
    handle: outcomeEventHandler(statuses, ownership),
  });
}
