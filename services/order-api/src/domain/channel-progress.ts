import { isDeepStrictEqual } from 'node:util';
import type { WHATSAPP_STATUSES } from '@notify/contracts';
import { channelStateRank } from './order-status.js';
import type { ChannelState } from './order-status.js';

export type WhatsappDeliveryStatus = (typeof WHATSAPP_STATUSES)[number];

/** What an outcome event says about one channel of one order. */
export type ChannelEvent =
  | {
      readonly kind: 'retrying';
      readonly occurredAt: string;
      readonly attempt: number;
      readonly delayMs: number;
      readonly reason: string;
    }
  | {
      readonly kind: 'dead_lettered';
      readonly occurredAt: string;
      readonly attempts: number;
      readonly reason: string;
    }
  | { readonly kind: 'succeeded'; readonly occurredAt: string; readonly details: Record<string, unknown> }
  | { readonly kind: 'failed'; readonly occurredAt: string; readonly details: Record<string, unknown> }
  /** A WhatsApp message's status at Twilio: from the send itself or from a status callback. */
  | {
      readonly kind: 'delivery';
      readonly occurredAt: string;
      readonly status: WhatsappDeliveryStatus;
      readonly details: Record<string, unknown>;
    };

export interface ChannelSnapshot {
  readonly state: ChannelState;
  /** Delivery attempts that failed, as the consumer reported them (highest seen). */
  readonly attempts: number;
  readonly details: Readonly<Record<string, unknown>>;
}

/**
 * Twilio's message statuses in the order they can follow each other. `failed` and
 * `undelivered` end a message like `delivered` does; `read` comes after `delivered`.
 */
const DELIVERY_RANK: Readonly<Record<WhatsappDeliveryStatus, number>> = {
  queued: 0,
  sent: 1,
  delivered: 2,
  undelivered: 2,
  failed: 2,
  read: 3,
};

function deliveryRank(status: unknown): number {
  return typeof status === 'string' && status in DELIVERY_RANK
    ? DELIVERY_RANK[status as WhatsappDeliveryStatus]
    : -1;
}

/** Fields of `add` that `base` lacks; what `base` already says is kept. */
function fillIn(base: Readonly<Record<string, unknown>>, add: Readonly<Record<string, unknown>>) {
  return { ...add, ...base };
}

/**
 * The next state of a channel after an event, or null when the event changes nothing.
 *
 * Events arrive late, twice and out of order, so the rule is monotonic: a channel moves
 * only to a state of higher rank (pending < published < retrying < failed <
 * dead_lettered < succeeded); an event of lower or equal rank can add details the
 * channel lacks but never overwrites the state or what a later event said. The same
 * event applied twice gives the same snapshot, so a duplicate changes nothing.
 * WhatsApp delivery statuses have their own order (queued < sent < delivered|failed|
 * undelivered < read): the channel follows the furthest status seen, `succeeded` for
 * any status but failed/undelivered, which turn it `failed`.
 */
export function applyChannelEvent(current: ChannelSnapshot, event: ChannelEvent): ChannelSnapshot | null {
  const next = reduce(current, event);
  return isDeepStrictEqual(next, current) ? null : next;
}

function reduce(cur: ChannelSnapshot, ev: ChannelEvent): ChannelSnapshot {
  const rank = channelStateRank(cur.state);
  switch (ev.kind) {
    case 'retrying': {
      const attempts = Math.max(cur.attempts, ev.attempt);
      const last = cur.details['lastError'] as { attempt?: number } | undefined;
      const newer = (last?.attempt ?? 0) < ev.attempt;
      const details = newer
        ? {
            ...cur.details,
            lastError: { reason: ev.reason, attempt: ev.attempt, retryInMs: ev.delayMs, at: ev.occurredAt },
          }
        : cur.details;
      const state = rank <= channelStateRank('retrying') && newer ? 'retrying' : cur.state;
      return { state, attempts, details };
    }
    case 'dead_lettered': {
      const attempts = Math.max(cur.attempts, ev.attempts);
      if (rank >= channelStateRank('dead_lettered')) return { ...cur, attempts };
      return {
        state: 'dead_lettered',
        attempts,
        details: {
          ...cur.details,
          deadLetter: { reason: ev.reason, attempts: ev.attempts, at: ev.occurredAt },
        },
      };
    }
    case 'failed':
    case 'succeeded': {
      if (rank >= channelStateRank(ev.kind)) return { ...cur, details: fillIn(cur.details, ev.details) };
      return { ...cur, state: ev.kind, details: { ...cur.details, ...ev.details } };
    }
    case 'delivery': {
      const seen = deliveryRank(cur.details['deliveryStatus']);
      if (deliveryRank(ev.status) <= seen) return { ...cur, details: fillIn(cur.details, ev.details) };
      const failed = ev.status === 'failed' || ev.status === 'undelivered';
      return {
        ...cur,
        state: failed ? 'failed' : 'succeeded',
        details: {
          ...fillIn(cur.details, ev.details),
          ...(ev.details['errorCode'] === undefined ? {} : { errorCode: ev.details['errorCode'] }),
          deliveryStatus: ev.status,
          deliveryStatusAt: ev.occurredAt,
        },
      };
    }
  }
}

/**
 * An operator replayed the channel's dead-lettered message: the channel starts over
 * from `published` (the one move backwards, made by a person, not by an event).
 */
export function replayedChannel(cur: ChannelSnapshot, at: string): ChannelSnapshot {
  const { deadLetter, lastError: _lastError, ...rest } = cur.details;
  const replays = typeof rest['replays'] === 'number' ? rest['replays'] : 0;
  return {
    state: 'published',
    attempts: 0,
    details: {
      ...rest,
      ...(deadLetter === undefined ? {} : { previousDeadLetter: deadLetter }),
      replays: replays + 1,
      lastReplayAt: at,
    },
  };
}
