import { CHANNELS } from '@notify/contracts';
import type { Channel } from '@notify/contracts';
import type { ChannelView, OrderApiClient, OrderView } from './order-client.js';

/** Channel states after which nothing more happens without an operator (a replay). */
export const FINAL_CHANNEL_STATES = ['succeeded', 'failed', 'dead_lettered'] as const;

/** WhatsApp delivery statuses after which Twilio reports nothing more that matters here. */
export const FINAL_WHATSAPP_STATUSES = ['delivered', 'read', 'failed', 'undelivered'] as const;

function normaliseState(state: string): string {
  return state.toLowerCase().replace(/-/g, '_');
}

/** Where the order API keeps the last delivery status Twilio reported for the message. */
export function whatsappDeliveryStatus(view: ChannelView): string | undefined {
  const d = view.details ?? {};
  for (const key of ['deliveryStatus', 'messageStatus', 'status']) {
    const v = d[key];
    if (typeof v === 'string') return v.toLowerCase();
  }
  return undefined;
}

/**
 * A channel is final when its state is; WhatsApp succeeds when Twilio accepts the message,
 * but the interesting part (delivered, read) comes later through status callbacks, so it
 * is final only once one of those has arrived too.
 */
export function isChannelFinal(channel: Channel, view: ChannelView): boolean {
  const state = normaliseState(view.state);
  if (!(FINAL_CHANNEL_STATES as readonly string[]).includes(state)) return false;
  if (channel !== 'whatsapp' || state !== 'succeeded') return true;
  const status = whatsappDeliveryStatus(view);
  return status !== undefined && (FINAL_WHATSAPP_STATUSES as readonly string[]).includes(status);
}

export function isOrderFinal(order: OrderView): boolean {
  return CHANNELS.every((c) => order.channels[c] && isChannelFinal(c, order.channels[c]));
}

const DETAIL_KEYS = [
  'deliveryStatus',
  'messageStatus',
  'messageId',
  'smtpMessageId',
  'messageSid',
  'carrier',
  'carrierName',
  'serviceLevel',
  'trackingNumber',
  'authorizationId',
  'declineCode',
  'declineReason',
  'reason',
  'score',
  'decision',
  'rules',
  'error',
];

function detailText(details: Readonly<Record<string, unknown>> | undefined): string {
  if (!details) return '';
  const parts: string[] = [];
  for (const key of DETAIL_KEYS) {
    const v = details[key];
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) {
      if (v.length)
        parts.push(
          `${key}=${v.map((x) => (typeof x === 'object' ? JSON.stringify(x) : String(x))).join(',')}`,
        );
    } else parts.push(`${key}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  }
  return parts.join(' ');
}

/** What makes a channel "changed" for the person watching: state, attempts, details. */
function signature(view: ChannelView | undefined): string {
  if (!view) return '';
  return JSON.stringify([view.state, view.attempts ?? 0, view.details ?? {}]);
}

export interface ChannelChange {
  readonly channel: Channel;
  readonly view: ChannelView;
  readonly previous: ChannelView | undefined;
  readonly final: boolean;
  /** One human line: channel, state, attempts and the outcome's details. */
  readonly line: string;
}

export function describeChannel(channel: Channel, view: ChannelView): string {
  const attempts = view.attempts ? ` (attempts ${view.attempts})` : '';
  const details = detailText(view.details);
  return `${channel.padEnd(8)} ${view.state}${attempts}${details ? `  ${details}` : ''}`;
}

/** The channel changes between two snapshots of an order, in channel order. */
export function diffOrder(previous: OrderView | undefined, next: OrderView): ChannelChange[] {
  const changes: ChannelChange[] = [];
  for (const channel of CHANNELS) {
    const before = previous?.channels[channel];
    const after = next.channels[channel];
    if (!after || signature(before) === signature(after)) continue;
    changes.push({
      channel,
      view: after,
      previous: before,
      final: isChannelFinal(channel, after),
      line: describeChannel(channel, after),
    });
  }
  return changes;
}

export interface FollowOptions {
  readonly timeoutMs: number;
  /** Each channel change, as it is seen. */
  readonly onChange?: (change: ChannelChange, order: OrderView) => void;
  /** The order's overall status changed. */
  readonly onStatus?: (status: string, order: OrderView) => void;
  /** `auto` uses the event stream when the API has one and polls otherwise. */
  readonly mode?: 'auto' | 'events' | 'poll';
  readonly pollIntervalMs?: number;
  /** Stop once this holds (default: every channel final). */
  readonly until?: (order: OrderView) => boolean;
}

export interface FollowResult {
  readonly order: OrderView;
  /** How the order was followed in the end. */
  readonly via: 'events' | 'poll';
  /** Events received on the stream (0 when polling). */
  readonly events: number;
}

export class FollowTimeoutError extends Error {
  constructor(
    readonly order: OrderView | undefined,
    timeoutMs: number,
  ) {
    const waiting = order
      ? CHANNELS.filter((c) => !order.channels[c] || !isChannelFinal(c, order.channels[c]))
          .map((c) => `${c} (${order.channels[c]?.state ?? 'missing'})`)
          .join(', ')
      : 'the order';
    super(`not final after ${Math.round(timeoutMs / 1000)} s; still waiting for ${waiting}`);
    this.name = 'FollowTimeoutError';
  }
}

interface SseEvent {
  readonly event: string;
  readonly data: string;
}

/** Splits a text/event-stream body into events (the parts of the format the API uses). */
export async function* readEventStream(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  let event = 'message';
  let data: string[] = [];
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buffer.search(/\r\n|\r|\n/)) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(buffer[nl] === '\r' && buffer[nl + 1] === '\n' ? nl + 2 : nl + 1);
      if (line === '') {
        if (data.length) yield { event, data: data.join('\n') };
        event = 'message';
        data = [];
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
  }
}

function looksLikeOrder(v: unknown): v is OrderView {
  return typeof v === 'object' && v !== null && 'channels' in v && 'status' in v;
}

/**
 * Follows an order until every channel is final (or `until` holds): through
 * GET /orders/:id/events when the API has it, else by polling GET /orders/:id. Reports
 * each channel change once, in the order seen.
 */
export async function followOrder(
  client: OrderApiClient,
  id: string,
  options: FollowOptions,
): Promise<FollowResult> {
  const until = options.until ?? isOrderFinal;
  const deadline = Date.now() + options.timeoutMs;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), options.timeoutMs);
  let last: OrderView | undefined;
  let events = 0;

  const see = (order: OrderView): boolean => {
    for (const change of diffOrder(last, order)) options.onChange?.(change, order);
    if (order.status !== last?.status) options.onStatus?.(order.status, order);
    last = order;
    return until(order);
  };

  try {
    let via: 'events' | 'poll' = options.mode === 'poll' ? 'poll' : 'events';
    while (via === 'events' && Date.now() < deadline) {
      let stream: Response | undefined;
      try {
        stream = await client.openEvents(id, abort.signal);
      } catch (err) {
        if (abort.signal.aborted) break;
        throw err;
      }
      if (!stream) {
        if (options.mode === 'events') throw new Error('the order API has no GET /orders/:id/events');
        via = 'poll';
        break;
      }
      try {
        for await (const e of readEventStream(stream.body!)) {
          events++;
          let parsed: unknown;
          try {
            parsed = JSON.parse(e.data);
          } catch {
            parsed = undefined;
          }
          // A full snapshot is used as is; any other event says "something changed", and
          // the order itself says what.
          const order = looksLikeOrder(parsed) ? parsed : await client.getOrder(id);
          if (see(order)) return { order, via, events };
        }
      } catch (err) {
        if (abort.signal.aborted) break;
        throw err;
      }
      // The stream ended (the server closes it once the order is final, or restarted).
      const order = await client.getOrder(id);
      if (see(order)) return { order, via, events };
      await new Promise((r) => setTimeout(r, 250));
    }
    while (via === 'poll' && Date.now() < deadline) {
      const order = await client.getOrder(id);
      if (see(order)) return { order, via, events };
      await new Promise((r) => setTimeout(r, options.pollIntervalMs ?? 250));
    }
    throw new FollowTimeoutError(last, options.timeoutMs);
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
}
