import { describe, expect, it } from 'vitest';
import type { ChannelState, OrderSummary } from '../api/types.js';
import { channelChanges, initialOrders, matchesQuery, ordersReducer } from './orders.js';
import type { OrdersState } from './orders.js';

function order(
  id: string,
  placedAt: string,
  states: Partial<Record<'email' | 'whatsapp' | 'logistic' | 'payment' | 'fraud', ChannelState>> = {},
  updatedAt = placedAt,
): OrderSummary {
  const ch = (state: ChannelState = 'pending') => ({ state, updatedAt });
  return {
    id,
    reference: `ORD-${id.replace(/-/g, '').slice(0, 12).toUpperCase()}`,
    status: 'accepted',
    placedAt,
    customerEmail: `${id.slice(0, 4)}@example.com`,
    channels: {
      email: ch(states.email),
      whatsapp: ch(states.whatsapp),
      logistic: ch(states.logistic),
      payment: ch(states.payment),
      fraud: ch(states.fraud),
    },
  };
}

const A = order('aaaa0000-0000-4000-8000-000000000001', '2025-01-01T10:00:00.000Z');
const B = order('bbbb0000-0000-4000-8000-000000000002', '2025-01-01T10:00:01.000Z');
const C = order('cccc0000-0000-4000-8000-000000000003', '2025-01-01T10:00:02.000Z');

function loaded(orders: OrderSummary[], nextBefore: string | null = null, query = ''): OrdersState {
  const s = ordersReducer({ ...initialOrders, query }, { type: 'search', query });
  return ordersReducer(s, { type: 'loaded', query, page: { orders, nextBefore }, append: false });
}

describe('the orders list', () => {
  it('shows a loaded page newest first and stops loading', () => {
    const s = loaded([A, C, B]);
    expect(s.orders.map((o) => o.id)).toEqual([C.id, B.id, A.id]);
    expect(s.loading).toBe(false);
  });

  it('moves a channel on when a fresher version arrives, and announces the change', () => {
    const s = loaded([A, B]);
    const later = order(
      A.id,
      A.placedAt,
      { email: 'succeeded', fraud: 'published' },
      '2025-01-01T10:00:05.000Z',
    );
    const next = ordersReducer(s, { type: 'changed', order: later });
    expect(next.orders.find((o) => o.id === A.id)?.channels.email.state).toBe('succeeded');
    expect(next.announcement).toBe(`${A.reference}: email succeeded, fraud published`);
  });

  it('ignores a version older than the one shown (events arrive out of order)', () => {
    const newer = order(A.id, A.placedAt, { email: 'succeeded' }, '2025-01-01T10:00:09.000Z');
    const s = ordersReducer(loaded([newer]), {
      type: 'changed',
      order: order(A.id, A.placedAt, { email: 'published' }, '2025-01-01T10:00:03.000Z'),
    });
    expect(s.orders[0]?.channels.email.state).toBe('succeeded');
  });

  it('puts a new order at the top, but only when it matches the search', () => {
    const s = ordersReducer(loaded([A, B]), { type: 'changed', order: C });
    expect(s.orders.map((o) => o.id)).toEqual([C.id, B.id, A.id]);
    expect(s.announcement).toBe(`New order ${C.reference}`);

    const searched = loaded([A], null, 'aaaa');
    expect(ordersReducer(searched, { type: 'changed', order: C }).orders.map((o) => o.id)).toEqual([A.id]);
  });

  it('leaves an unseen older order to the page it belongs to', () => {
    const s = ordersReducer(loaded([C, B], 'cursor'), { type: 'changed', order: A });
    expect(s.orders.map((o) => o.id)).toEqual([C.id, B.id]);
  });

  it('appends an older page without repeating orders', () => {
    const s = ordersReducer(loaded([C, B], 'cursor'), {
      type: 'loaded',
      query: '',
      page: { orders: [B, A], nextBefore: null },
      append: true,
    });
    expect(s.orders.map((o) => o.id)).toEqual([C.id, B.id, A.id]);
    expect(s.nextBefore).toBeNull();
  });

  it('drops the answer to a search that was replaced meanwhile', () => {
    let s = ordersReducer(initialOrders, { type: 'search', query: 'first' });
    s = ordersReducer(s, { type: 'search', query: 'second' });
    s = ordersReducer(s, {
      type: 'loaded',
      query: 'first',
      page: { orders: [A], nextBefore: null },
      append: false,
    });
    expect(s.orders).toEqual([]);
    expect(s.loading).toBe(true);
  });

  it('keeps what the stream brought while the page loaded', () => {
    let s = ordersReducer(initialOrders, { type: 'search', query: '' });
    const fresh = order(A.id, A.placedAt, { email: 'succeeded' }, '2025-01-01T10:00:09.000Z');
    s = ordersReducer(s, { type: 'changed', order: fresh });
    s = ordersReducer(s, { type: 'changed', order: C });
    // The page was read before both changes: A still pending, C not yet placed.
    s = ordersReducer(s, {
      type: 'loaded',
      query: '',
      page: { orders: [B, A], nextBefore: null },
      append: false,
    });
    expect(s.orders.map((o) => o.id)).toEqual([C.id, B.id, A.id]);
    expect(s.orders.find((o) => o.id === A.id)?.channels.email.state).toBe('succeeded');
  });

  it('matches searches as the API does: whole id, reference or email prefix', () => {
    expect(matchesQuery(A, '')).toBe(true);
    expect(matchesQuery(A, A.id.toUpperCase())).toBe(true);
    expect(matchesQuery(A, A.reference.slice(0, 7).toLowerCase())).toBe(true);
    expect(matchesQuery(A, 'AAAA@EXAMPLE')).toBe(true);
    expect(matchesQuery(A, 'example.com')).toBe(false);
  });

  it('lists the channels that changed between two versions', () => {
    const after = order(A.id, A.placedAt, { payment: 'failed' });
    expect(channelChanges(A, after)).toEqual([{ channel: 'payment', from: 'pending', to: 'failed' }]);
    expect(channelChanges(undefined, A)).toHaveLength(5);
  });

  it('records whether the live stream is connected', () => {
    expect(ordersReducer(initialOrders, { type: 'live', live: 'offline' }).live).toBe('offline');
  });
});
