import { Fragment } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ConsoleApi } from '../api/client.js';
import { CHANNELS } from '../api/types.js';
import type { OrderDetail } from '../api/types.js';
import { detailRows, formatTime } from '../format.js';
import { useEventStream } from '../hooks.js';
import { appendTimeline, initialTimeline, timelineChanges } from '../state/timeline.js';
import type { TimelineEntry } from '../state/timeline.js';
import { ChannelBadge } from './channel-badge.js';

const CHANNEL_TITLES: Readonly<Record<string, string>> = {
  email: 'Email',
  whatsapp: 'WhatsApp',
  logistic: 'Logistic',
  payment: 'Payment',
  fraud: 'Fraud',
};

/**
 * One order in full: each channel's state, attempts and what its service reported,
 * and the timeline of changes, kept current by the order's own event stream.
 */
export function OrderDetailPanel(props: { api: ConsoleApi; orderId: string; onClose: () => void }) {
  const { api, orderId, onClose } = props;
  const [order, setOrder] = useState<OrderDetail | null>(null);
  const [timeline, setTimeline] = useState<TimelineEntry[]>([]);
  const [error, setError] = useState<string | null>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  const current = useRef<OrderDetail | null>(null);

  useEffect(() => {
    current.current = null;
    setOrder(null);
    setTimeline([]);
    setError(null);
    const ac = new AbortController();
    api.get<OrderDetail>(`/orders/${encodeURIComponent(orderId)}`, ac.signal).then(
      (o) => {
        // The stream may have answered first: its channels are at least as new.
        const merged = current.current ? { ...o, ...current.current, placedAt: o.placedAt } : o;
        current.current = merged;
        setOrder(merged);
        setTimeline(initialTimeline(merged));
      },
      (err: unknown) => {
        if (!ac.signal.aborted) setError(String((err as Error).message ?? err));
      },
    );
    return () => ac.abort();
  }, [api, orderId]);

  useEffect(() => {
    heading.current?.focus();
  }, [orderId]);

  useEventStream(api, `/orders/${encodeURIComponent(orderId)}/events`, (e) => {
    if (e.event !== 'order') return;
    const update = JSON.parse(e.data) as Omit<OrderDetail, 'placedAt'>;
    if (update.id !== orderId) return;
    const before = current.current;
    const next: OrderDetail = { ...before, ...update };
    current.current = next;
    setOrder(next);
    setTimeline((t) => (before ? appendTimeline(t, timelineChanges(before, next)) : initialTimeline(next)));
  });

  return (
    <section
      id="order-detail"
      class="detail"
      aria-labelledby="detail-heading"
      onKeyDown={(e) => {
        if (e.key === 'Escape') onClose();
      }}
    >
      <div class="section-head">
        <h2 id="detail-heading" tabIndex={-1} ref={heading}>
          {order ? `Order ${order.reference}` : 'Order'}
        </h2>
        <button type="button" class="quiet" onClick={onClose}>
          Close<span class="visually-hidden"> order details</span>
        </button>
      </div>
      {error ? (
        <p class="error" role="alert">
          Could not read the order: {error}
        </p>
      ) : null}
      {!order && !error ? <p role="status">Loading…</p> : null}
      {order ? (
        <>
          <p>
            Status: <span class={`status status-${order.status}`}>{order.status}</span>
            {order.placedAt ? <> · placed {formatTime(order.placedAt)}</> : null}
          </p>
          <p class="mono small">Id: {order.id}</p>
          <div class="channels">
            {CHANNELS.map((c) => {
              const ch = order.channels[c];
              return (
                <article key={c} class="channel" aria-labelledby={`ch-${c}`} data-channel={c}>
                  <h3 id={`ch-${c}`}>
                    {CHANNEL_TITLES[c]} <ChannelBadge state={ch.state} />
                  </h3>
                  <dl>
                    <dt>Attempts failed</dt>
                    <dd>{ch.attempts}</dd>
                    <dt>Published</dt>
                    <dd>{formatTime(ch.publishedAt)}</dd>
                    <dt>Updated</dt>
                    <dd>{formatTime(ch.updatedAt)}</dd>
                    <dt>Message id</dt>
                    <dd class="mono">{ch.messageId}</dd>
                    {detailRows(ch.details).map((r) => (
                      <Fragment key={r.label}>
                        <dt>{r.label}</dt>
                        <dd>{r.value}</dd>
                      </Fragment>
                    ))}
                  </dl>
                </article>
              );
            })}
          </div>
          <h3 id="timeline-heading">Timeline</h3>
          <ol class="timeline" aria-labelledby="timeline-heading" aria-live="polite">
            {timeline.map((t, i) => (
              <li key={`${t.at}-${i}`}>
                <time dateTime={t.at}>{formatTime(t.at)}</time> {t.text}
              </li>
            ))}
          </ol>
        </>
      ) : null}
    </section>
  );
}
