import { CHANNELS } from '../api/types.js';
import type { Channel, ChannelDetail, ChannelState, OrderDetail } from '../api/types.js';
import { stateLabel } from '../format.js';

export interface TimelineEntry {
  readonly at: string;
  readonly channel: Channel | null;
  readonly state: ChannelState | null;
  readonly text: string;
}

/** Maximum entries kept for one order (a channel retrying for hours stays readable). */
export const MAX_TIMELINE = 200;

function reasonOf(c: ChannelDetail): string | null {
  const d = c.details as {
    deadLetter?: { reason?: unknown };
    lastError?: { reason?: unknown };
    reason?: unknown;
  };
  const r =
    c.state === 'dead_lettered'
      ? d.deadLetter?.reason
      : c.state === 'retrying'
        ? d.lastError?.reason
        : d.reason;
  return typeof r === 'string' ? r : null;
}

function describe(channel: Channel, c: ChannelDetail): string {
  const reason = reasonOf(c);
  const attempts =
    c.state === 'retrying' || c.state === 'dead_lettered' ? ` after ${c.attempts} attempt(s)` : '';
  const delivery = channel === 'whatsapp' && typeof c.details['deliveryStatus'] === 'string';
  const status = delivery ? ` (WhatsApp ${String(c.details['deliveryStatus'])})` : '';
  return `${channel} ${stateLabel(c.state)}${attempts}${status}${reason ? `: ${reason}` : ''}`;
}

const byTime = (a: TimelineEntry, b: TimelineEntry) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0);

/** What one reading of an order tells of its past: when it was placed, published and where each channel stands. */
export function initialTimeline(order: OrderDetail): TimelineEntry[] {
  const out: TimelineEntry[] = [];
  if (order.placedAt)
    out.push({ at: order.placedAt, channel: null, state: null, text: `order ${order.reference} placed` });
  for (const channel of CHANNELS) {
    const c = order.channels[channel];
    if (c.publishedAt)
      out.push({ at: c.publishedAt, channel, state: 'published', text: `${channel} published` });
    if (c.state !== 'pending' && c.state !== 'published') {
      out.push({ at: c.updatedAt, channel, state: c.state, text: describe(channel, c) });
    }
  }
  return out.sort(byTime);
}

/** The changes between two readings of an order, as timeline entries. */
export function timelineChanges(before: OrderDetail, after: OrderDetail): TimelineEntry[] {
  const out: TimelineEntry[] = [];
  for (const channel of CHANNELS) {
    const a = before.channels[channel];
    const b = after.channels[channel];
    const delivery = a.details['deliveryStatus'] !== b.details['deliveryStatus'];
    if (a.state !== b.state || a.attempts !== b.attempts || delivery) {
      out.push({ at: b.updatedAt, channel, state: b.state, text: describe(channel, b) });
    }
  }
  return out.sort(byTime);
}

/** Appends entries, keeping the newest MAX_TIMELINE. */
export function appendTimeline(
  current: readonly TimelineEntry[],
  added: readonly TimelineEntry[],
): TimelineEntry[] {
  return [...current, ...added].slice(-MAX_TIMELINE);
}
