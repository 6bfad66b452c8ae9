import { CHANNELS } from '../api/types.js';
import type { Channel, ChannelState, OrderPage, OrderSummary } from '../api/types.js';

/** Orders kept in the live list at most; older ones drop off the end (the API still has them). */
export const MAX_LISTED = 500;

export interface OrdersState {
  readonly orders: readonly OrderSummary[];
  /** The search the list shows (empty: recent orders). */
  readonly query: string;
  readonly nextBefore: string | null;
  readonly loading: boolean;
  readonly error: string | null;
  readonly live: 'connecting' | 'live' | 'offline';
  /** The last change the live stream brought, for the screen reader's live region. */
  readonly announcement: string;
}

export type OrdersAction =
  | { readonly type: 'search'; readonly query: string }
  | { readonly type: 'loaded'; readonly query: string; readonly page: OrderPage; readonly append: boolean }
  | { readonly type: 'failed'; readonly error: string }
  | { readonly type: 'changed'; readonly order: OrderSummary }
  | { readonly type: 'live'; readonly live: OrdersState['live'] };

export const initialOrders: OrdersState = {
  orders: [],
  query: '',
  nextBefore: null,
  loading: true,
  error: null,
  live: 'connecting',
  announcement: '',
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The API's search rule, so a live order joins a searched list only when the API would list it. */
export function matchesQuery(order: OrderSummary, query: string): boolean {
  const q = query.trim();
  if (!q) return true;
  if (UUID.test(q) && order.id.toLowerCase() === q.toLowerCase()) return true;
  return (
    order.reference.startsWith(q.toUpperCase()) ||
    order.customerEmail.toLowerCase().startsWith(q.toLowerCase())
  );
}

/** Newest first: by time placed, then by id, as the API orders them. */
export function compareOrders(a: OrderSummary, b: OrderSummary): number {
  if (a.placedAt !== b.placedAt) return a.placedAt < b.placedAt ? 1 : -1;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/** When an order last changed: its latest channel update. */
export function freshness(order: OrderSummary): string {
  return CHANNELS.map((c) => order.channels[c].updatedAt).reduce((a, b) => (a > b ? a : b));
}

export interface ChannelChange {
  readonly channel: Channel;
  readonly from: ChannelState | null;
  readonly to: ChannelState;
}

/** Channels whose state differs between two versions of an order (all of them for a new one). */
export function channelChanges(before: OrderSummary | undefined, after: OrderSummary): ChannelChange[] {
  return CHANNELS.flatMap((channel) => {
    const from = before?.channels[channel].state ?? null;
    const to = after.channels[channel].state;
    return from === to ? [] : [{ channel, from, to }];
  });
}

function announce(before: OrderSummary | undefined, after: OrderSummary): string {
  if (!before) return `New order ${after.reference}`;
  const changes = channelChanges(before, after);
  if (changes.length === 0) return '';
  return `${after.reference}: ${changes.map((c) => `${c.channel} ${c.to.replace('_', '-')}`).join(', ')}`;
}

/** Each order once, the freshest version of it, newest order first. */
function merge(current: readonly OrderSummary[], incoming: readonly OrderSummary[]): OrderSummary[] {
  const byId = new Map(current.map((o) => [o.id, o]));
  for (const o of incoming) {
    const known = byId.get(o.id);
    if (!known || freshness(o) >= freshness(known)) byId.set(o.id, o);
  }
  return [...byId.values()].sort(compareOrders).slice(0, MAX_LISTED);
}

function onChanged(state: OrdersState, order: OrderSummary): OrdersState {
  const index = state.orders.findIndex((o) => o.id === order.id);
  const known = index >= 0 ? state.orders[index] : undefined;
  if (known) {
    if (freshness(order) < freshness(known)) return state;
    const orders = [...state.orders];
    orders[index] = order;
    return { ...state, orders, announcement: announce(known, order) || state.announcement };
  }
  if (!matchesQuery(order, state.query)) return state;
  // An order older than the end of a list with more pages belongs to a later page.
  const last = state.orders.at(-1);
  if (last && state.nextBefore !== null && compareOrders(order, last) > 0) return state;
  return { ...state, orders: merge(state.orders, [order]), announcement: announce(undefined, order) };
}

export function ordersReducer(state: OrdersState, action: OrdersAction): OrdersState {
  switch (action.type) {
    case 'search':
      return { ...state, query: action.query, loading: true, error: null };
    case 'loaded': {
      // An answer to a search the operator has since replaced is dropped.
      if (action.query !== state.query) return state;
      const base = action.append ? state.orders : state.orders.filter((o) => matchesQuery(o, action.query));
      const orders = action.append ? merge(base, action.page.orders) : merge([], action.page.orders);
      // What the live stream brought while the page loaded is kept: changes to the page's
      // orders (merge keeps the fresher version) and orders placed after the page was read.
      const first = orders[0];
      const fresher = action.append
        ? []
        : base.filter((o) => !first || compareOrders(o, first) < 0 || orders.some((n) => n.id === o.id));
      return {
        ...state,
        orders: merge(orders, fresher),
        nextBefore: action.page.nextBefore,
        loading: false,
        error: null,
      };
    }
    case 'failed':
      return { ...state, loading: false, error: action.error };
    case 'changed':
      return onChanged(state, action.order);
    case 'live':
      return { ...state, live: action.live };
  }
}
