import { CHANNELS } from '@notify/contracts';
import type { Channel } from '@notify/contracts';

/**
 * Where one notification of an order stands. Listed in the order a channel moves
 * through them; later states (succeeded, retrying, failed, dead_lettered) extend this
 * list, the database constraint and deriveOrderStatus together.
 */
export const CHANNEL_STATES = ['pending', 'published'] as const;
export type ChannelState = (typeof CHANNEL_STATES)[number];

/** accepted: stored, some notification still waiting in the outbox; processing: all five handed to the broker. */
export const ORDER_STATUSES = ['accepted', 'processing'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export function deriveOrderStatus(channels: Readonly<Record<Channel, { state: ChannelState }>>): OrderStatus {
  return CHANNELS.every((c) => channels[c].state !== 'pending') ? 'processing' : 'accepted';
}
