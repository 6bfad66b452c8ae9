import { CHANNELS } from '@notify/contracts';
import type { Channel } from '@notify/contracts';

/**
 * Where one notification of an order stands, in rank order: a channel only ever moves
 * to a state of higher rank (see channel-progress.ts). `failed` is a business outcome
 * the service settled (payment declined, address not shippable, email refused);
 * `dead_lettered` means the message itself is parked in its dead-letter queue and can
 * be replayed; `succeeded` is the effect having happened.
 */
export const CHANNEL_STATES = [
  'pending',
  'published',
  'retrying',
  'failed',
  'dead_lettered',
  'succeeded',
] as const;
export type ChannelState = (typeof CHANNEL_STATES)[number];

export const FINAL_CHANNEL_STATES: readonly ChannelState[] = ['failed', 'dead_lettered', 'succeeded'];

export function channelStateRank(state: ChannelState): number {
  return CHANNEL_STATES.indexOf(state);
}

/**
 * The order's overall status, derived from its channels, first rule that holds:
 * - `flagged`: the fraud assessment decided `review` or `reject`;
 * - `attention`: a channel failed or was dead-lettered;
 * - `completed`: all five channels succeeded;
 * - `processing`: all five notifications were handed to the broker;
 * - `accepted`: stored, some notification still waits in the outbox.
 */
export const ORDER_STATUSES = ['accepted', 'processing', 'completed', 'attention', 'flagged'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export interface ChannelStatusInput {
  readonly state: ChannelState;
  readonly details?: object;
}

export function deriveOrderStatus(channels: Readonly<Record<Channel, ChannelStatusInput>>): OrderStatus {
  const fraud = channels.fraud;
  const decision = (fraud.details as { decision?: unknown } | undefined)?.decision;
  if (fraud.state === 'succeeded' && (decision === 'review' || decision === 'reject')) return 'flagged';
  const states = CHANNELS.map((c) => channels[c].state);
  if (states.some((s) => s === 'failed' || s === 'dead_lettered')) return 'attention';
  if (states.every((s) => s === 'succeeded')) return 'completed';
  if (states.every((s) => s !== 'pending')) return 'processing';
  return 'accepted';
}
