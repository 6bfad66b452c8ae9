import { orderEventsConsumer } from '@notify/contracts';
import { errorMessage, Fates } from '@notify/messaging';
import type { Delivery, Fate } from '@notify/messaging';
import { isDatabaseOutage, serviceConsumer } from '@notify/service-kit';
import type { ServiceConsumer } from '@notify/service-kit';
import { applyOutcome } from './apply-outcome.js';
import type { ApplyResult, ChannelStatusStore, OutcomeApplied } from './apply-outcome.js';
import { refusalOf } from './channel-owners.js';
import type { EventOwnership } from './channel-owners.js';
import { channelUpdateOf, OUTCOME_CONTRACTS } from './outcome-events.js';
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
    const refused = refuse(delivery, ownership);
    if (refused) return refused;
    let applied: OutcomeApplied;
    try {
      applied = await applyOutcome(statuses, delivery as unknown as OutcomeDelivery);
    } catch (err) {
      if (isDatabaseOutage(err)) return Fates.unavailable('database', errorMessage(err));
      throw err;
    }
    return acked(delivery, applied);
  };
}

/**
 * The same rules for a window of events: each refused one is dead-lettered with its
 * reason, the others are applied in one transaction (`applyAll`) and acked. A database
 * outage holds every event it caught; any other failure throws, and the runner then
 * applies each event alone.
 */
export function outcomeWindowHandler(
  statuses: ChannelStatusStore & Required<Pick<ChannelStatusStore, 'applyAll'>>,
  ownership?: EventOwnership,
): (deliveries: readonly Delivery<OutcomeContract>[]) => Promise<readonly Fate[]> {
  return async (deliveries) => {
    const fates: (Fate | undefined)[] = deliveries.map((d) => refuse(d, ownership));
    const accepted = deliveries.filter((_, i) => fates[i] === undefined);
    const updates = accepted.map((d) => channelUpdateOf(d as unknown as OutcomeDelivery));
    let results: readonly ApplyResult[];
    try {
      results = await statuses.applyAll(updates);
    } catch (err) {
      if (!isDatabaseOutage(err)) throw err;
      const held = Fates.unavailable('database', errorMessage(err));
      return fates.map((f) => f ?? held);
    }
    let next = 0;
    return fates.map((f, i) => {
      if (f) return f;
      const k = next++;
      return acked(deliveries[i]!, { update: updates[k]!, result: results[k]! });
    });
  };
}

/** The dead-letter fate of an event whose publisher does not own its channel, or undefined. */
function refuse(
  delivery: Delivery<OutcomeContract>,
  ownership: EventOwnership | undefined,
): Fate | undefined {
  if (!ownership) return undefined;
  const refusal = refusalOf(ownership.owners, delivery.key, delivery.ctx.publishedBy);
  if (!refusal) return undefined;
  ownership.refused(refusal);
  delivery.ctx.logger?.warn(
    { event: delivery.key, channel: refusal.channel, publishedBy: delivery.ctx.publishedBy ?? null },
    `outcome event refused: ${refusal.message}`,
  );
  return Fates.deadLetter(refusal.message);
}

function acked(delivery: Delivery<OutcomeContract>, { update, result }: OutcomeApplied): Fate {
  if (result === 'unknown-order') {
    delivery.ctx.logger?.warn(
      { orderId: update.orderId, channel: update.channel, event: delivery.key },
      'outcome event for an unknown order; dropped',
    );
  } else {
    delivery.ctx.logger?.debug({ channel: update.channel, event: delivery.key, result }, 'outcome applied');
  }
  return Fates.ack();
}

/**
 * Folds the services' outcome events (queue `order-api.events`, bound to every key of
 * `order.events`) into the channel states, each only from its channel's owner.
 */
export function statusConsumer(
  statuses: ChannelStatusStore & Required<Pick<ChannelStatusStore, 'applyAll'>>,
  prefetch: number,
  ownership: EventOwnership,
): ServiceConsumer {
  return serviceConsumer<OutcomeContract>({
    topology: orderEventsConsumer,
    contracts: OUTCOME_CONTRACTS,
    prefetch,
    handle: outcomeEventHandler(statuses, ownership),
    window: { handle: outcomeWindowHandler(statuses, ownership) },
  });
}
