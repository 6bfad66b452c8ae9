import { useCallback, useEffect, useReducer, useRef, useState } from 'preact/hooks';
import type { ConsoleApi } from '../api/client.js';
import { CHANNELS } from '../api/types.js';
import type { OrderPage, OrderSummary } from '../api/types.js';
import { formatTime } from '../format.js';
import { useEventStream } from '../hooks.js';
import { initialOrders, ordersReducer } from '../state/orders.js';
import { ChannelBadge } from './channel-badge.js';
import { OrderDetailPanel } from './order-detail.js';

const MIN_SEARCH = 3;

function ordersPath(query: string, before?: string | null): string {
  const p = new URLSearchParams({ limit: '50' });
  if (query) p.set('q', query);
  if (before) p.set('before', before);
  return `/console/api/orders?${p.toString()}`;
}

export function OrdersView(props: { api: ConsoleApi }) {
  const { api } = props;
  const [state, dispatch] = useReducer(ordersReducer, initialOrders);
  const [selected, setSelected] = useState<string | null>(null);
  const [draft, setDraft] = useState('');
  const [hint, setHint] = useState<string | null>(null);
  const queryRef = useRef(state.query);
  queryRef.current = state.query;
  const opener = useRef<HTMLElement | null>(null);

  const load = useCallback(
    (query: string, before: string | null = null) => {
      api.get<OrderPage>(ordersPath(query, before)).then(
        (page) => dispatch({ type: 'loaded', query, page, append: before !== null }),
        (err: unknown) => dispatch({ type: 'failed', error: String((err as Error).message ?? err) }),
      );
    },
    [api],
  );

  useEventStream(
    api,
    '/console/api/orders/stream',
    (e) => {
      if (e.event === 'order') dispatch({ type: 'changed', order: JSON.parse(e.data) as OrderSummary });
      // Once the stream is open nothing is missed from then on: read the list now.
      if (e.event === 'ready' || e.event === 'resync') load(queryRef.current);
    },
    (live) => dispatch({ type: 'live', live }),
  );

  useEffect(() => {
    // The first read does not wait for the stream; the `ready` event reads again.
    load('');
  }, [load]);

  const search = (query: string) => {
    const q = query.trim();
    if (q && q.length < MIN_SEARCH) {
      setHint(`Type at least ${MIN_SEARCH} characters.`);
      return;
    }
    setHint(null);
    dispatch({ type: 'search', query: q });
    load(q);
  };

  return (
    <div class={`orders-layout${selected ? ' with-detail' : ''}`}>
      <section aria-labelledby="orders-heading" class="orders">
        <div class="section-head">
          <h2 id="orders-heading">Orders</h2>
          <p class={`live live-${state.live}`} role="status">
            {state.live === 'live' ? 'Live' : state.live === 'connecting' ? 'Connecting…' : 'Reconnecting…'}
          </p>
        </div>
        <form
          role="search"
          class="search"
          onSubmit={(e) => {
            e.preventDefault();
            search(draft);
          }}
        >
          <label for="order-search">Search orders</label>
          <input
            id="order-search"
            type="search"
            value={draft}
            onInput={(e) => setDraft((e.target as HTMLInputElement).value)}
            placeholder="Order id, reference or customer email"
            aria-describedby="search-help"
            maxLength={200}
          />
          <button type="submit">Search</button>
          {state.query ? (
            <button
              type="button"
              class="quiet"
              onClick={() => {
                setDraft('');
                search('');
              }}
            >
              Show all
            </button>
          ) : null}
          <p id="search-help" class="help">
            {hint ?? 'The start of a reference (ORD-…) or email, or a whole order id.'}
          </p>
        </form>
        <p class="visually-hidden" aria-live="polite">
          {state.announcement}
        </p>
        {state.error ? (
          <p class="error" role="alert">
            Could not read the orders: {state.error}
          </p>
        ) : null}
        <div class="table-scroll">
          <table class="order-table">
            <caption class="visually-hidden">
              {state.query ? `Orders matching ${state.query}` : 'Recent orders, newest first'}
            </caption>
            <thead>
              <tr>
                <th scope="col">Order</th>
                <th scope="col">Placed</th>
                <th scope="col">Customer</th>
                <th scope="col">Status</th>
                {CHANNELS.map((c) => (
                  <th scope="col" key={c}>
                    {c === 'whatsapp' ? 'WhatsApp' : c.charAt(0).toUpperCase() + c.slice(1)}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {state.orders.map((o) => (
                <tr key={o.id} data-order-id={o.id} aria-selected={selected === o.id ? 'true' : undefined}>
                  <th scope="row">
                    <button
                      type="button"
                      class="link"
                      aria-expanded={selected === o.id}
                      aria-controls="order-detail"
                      onClick={(e) => {
                        opener.current = e.currentTarget as HTMLElement;
                        setSelected(selected === o.id ? null : o.id);
                      }}
                    >
                      {o.reference}
                    </button>
                  </th>
                  <td data-label="Placed">{formatTime(o.placedAt)}</td>
                  <td data-label="Customer" class="email">
                    {o.customerEmail}
                  </td>
                  <td data-label="Status">
                    <span class={`status status-${o.status}`}>{o.status}</span>
                  </td>
                  {CHANNELS.map((c) => (
                    <td key={c} data-label={c} data-channel={c}>
                      <ChannelBadge state={o.channels[c].state} channel={c} />
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {!state.loading && state.orders.length === 0 ? (
          <p class="empty">{state.query ? 'No order matches this search.' : 'No orders yet.'}</p>
        ) : null}
        {state.nextBefore ? (
          <button type="button" class="quiet" onClick={() => load(state.query, state.nextBefore)}>
            Load older orders
          </button>
        ) : null}
      </section>
      {selected ? (
        <OrderDetailPanel
          api={api}
          orderId={selected}
          onClose={() => {
            setSelected(null);
            opener.current?.focus();
          }}
        />
      ) : null}
    </div>
  );
}
