import { CHANNELS } from '@notify/contracts';
import type { Address, Channel, CurrencyCode, Customer } from '@notify/contracts';
import type { Pool } from '@notify/service-kit';
import type { Static } from 'typebox';
import type { PricedLine } from '../domain/pricing.js';
import { deriveOrderStatus } from '../domain/order-status.js';
import type { ChannelState, OrderStatus } from '../domain/order-status.js';

/** Where one notification of an order stands, as clients see it. */
export interface ChannelView {
  readonly state: ChannelState;
  readonly messageId: string;
  readonly attempts: number;
  readonly publishedAt: string | null;
  readonly updatedAt: string;
  readonly details: Record<string, unknown>;
}

/** What GET /orders/:id answers: the order and the state of each of its notifications. */
export interface OrderDetails {
  readonly id: string;
  readonly reference: string;
  readonly status: OrderStatus;
  readonly placedAt: string;
  readonly currency: CurrencyCode;
  readonly customer: Static<typeof Customer>;
  readonly items: PricedLine[];
  readonly itemCount: number;
  readonly subtotal: number;
  readonly shipping: number;
  readonly total: number;
  readonly shippingAddress: Static<typeof Address>;
  readonly billingAddress: Static<typeof Address>;
  readonly channels: Record<Channel, ChannelView>;
  readonly links: { readonly self: string };
}

/** What each event of an order's stream carries: its status and channels, no customer data. */
export type OrderProgress = Pick<OrderDetails, 'id' | 'reference' | 'status' | 'channels'>;

const FIND_ORDER_SQL = `
SELECT o.id, o.reference, o.currency, o.customer, o.items, o.item_count, o.shipping_address,
       o.billing_address, o.subtotal, o.shipping, o.total, o.placed_at,
       s.channel, s.state, s.message_id, s.attempts, s.details, s.published_at, s.updated_at
FROM orders o
LEFT JOIN notification_states s ON s.order_id = o.id
WHERE o.id = $1 AND ($2::text IS NULL OR o.client = $2)`;

interface OrderRow {
  id: string;
  reference: string;
  currency: CurrencyCode;
  customer: OrderDetails['customer'];
  items: OrderDetails['items'];
  item_count: number;
  shipping_address: OrderDetails['shippingAddress'];
  billing_address: OrderDetails['billingAddress'];
  // bigint columns arrive as strings
  subtotal: string;
  shipping: string;
  total: string;
  placed_at: Date;
  channel: Channel | null;
  state: ChannelState;
  message_id: string;
  attempts: number;
  details: Record<string, unknown>;
  published_at: Date | null;
  updated_at: Date;
}

/**
 * Orders as clients read them, built from the rows the write path stored: the order
 * row and its channel states, with the overall status derived on every read rather
 * than stored, so it can never disagree with the channels.
 */
export class OrderReadModel {
  constructor(private readonly pool: Pool) {}

  /** The order, when it exists and belongs to `owner` (null: any owner, for operators). */
  async details(id: string, owner: string | null): Promise<OrderDetails | null> {
    const { rows } = await this.pool.query<OrderRow>({
      name: 'order-api-find-order',
      text: FIND_ORDER_SQL,
      values: [id, owner],
    });
    const first = rows[0];
    if (!first) return null;
    const channels = {} as Record<Channel, ChannelView>;
    for (const r of rows) {
      if (!r.channel) continue;
      channels[r.channel] = {
        state: r.state,
        messageId: r.message_id,
        attempts: r.attempts,
        publishedAt: r.published_at ? r.published_at.toISOString() : null,
        updatedAt: r.updated_at.toISOString(),
        details: r.details,
      };
    }
    // The write path stores all five with the order, so a gap is corruption, not a state.
    if (CHANNELS.some((c) => !channels[c])) throw new Error(`order ${id} lacks channel states`);
    return {
      id: first.id,
      reference: first.reference,
      status: deriveOrderStatus(channels),
      placedAt: first.placed_at.toISOString(),
      currency: first.currency,
      customer: first.customer,
      items: first.items,
      itemCount: first.item_count,
      subtotal: Number(first.subtotal),
      shipping: Number(first.shipping),
      total: Number(first.total),
      shippingAddress: first.shipping_address,
      billingAddress: first.billing_address,
      channels,
      links: { self: `/orders/${first.id}` },
    };
  }

  async progress(id: string, owner: string | null): Promise<OrderProgress | null> {
    const order = await this.details(id, owner);
    if (!order) return null;
    return { id: order.id, reference: order.reference, status: order.status, channels: order.channels };
  }
}
