import { channelUpdateOf } from './outcome-events.js';
import type { ChannelUpdate, OutcomeDelivery } from './outcome-events.js';

export type ApplyResult = 'applied' | 'unchanged' | 'unknown-order';

/** The channel states, as folding an outcome event into them needs them. */
export interface ChannelStatusStore {
  apply(update: ChannelUpdate): Promise<ApplyResult>;
  /**
   * Applies many updates in one transaction, in the order given (two updates of one
   * channel fold one after the other); one result per update. All or nothing.
   */
  applyAll?(updates: readonly ChannelUpdate[]): Promise<readonly ApplyResult[]>;
}

export interface OutcomeApplied {
  readonly update: ChannelUpdate;
  readonly result: ApplyResult;
}

/**
 * Folds one of the services' outcome events into its order's channel state. Applying
 * an event is idempotent, so a redelivered or duplicated event changes nothing; an
 * event for an order this API does not know changes nothing either and says so.
 */
export async function applyOutcome(
  statuses: ChannelStatusStore,
  event: OutcomeDelivery,
): Promise<OutcomeApplied> {
  const update = channelUpdateOf(event);
  return { update, result: await statuses.apply(update) };
}
