import { CHANNELS } from '@notify/contracts';
import type { Channel, CurrencyCode } from '@notify/contracts';
import type { Pool } from '@notify/service-kit';
import type { IdempotencyClaim, InsertOutcome, OrderStore, StoredResponse } from '../domain/create-order.js';
import type { AcceptedOrder, OutboxMessage } from '../domain/order-messages.js';
import { deriveOrderStatus } from '../domain/order-status.js';
import type { ChannelState } from '../domain/order-status.js';
import type { OrderAcceptedBody, OrderViewBody } from '../http/order-schemas.js';

const UNIQUE_VIOLATION = '23505';

// One statement, so one round trip and atomic without BEGIN/COMMIT. Data-modifying
// CTEs all run; `go` makes the order's rows conditional on the idempotency key being
// new. A concurrent insert of the same key waits on the unique index until the other
// transaction ends, then either conflicts (DO NOTHING: we replay its answer) or, if the
// other rolled back, proceeds. Foreign keys are checked at the end of the statement.
const INSERT_ORDER_SQL = `
WITH idem AS (
  INSERT INTO idempotency_keys (client, key, request_hash, order_id, status_code, response)
  SELECT $15::text, $16::text, $17::text, $1::uuid, $18::smallint, $19::jsonb WHERE $16::text IS NOT NULL
  ON CONFLICT (client, key) DO NOTHING
  RETURNING 1
), go AS (
  SELECT 1 WHERE $16::text IS NULL OR EXISTS (SELECT 1 FROM idem)
), ord AS (
  INSERT INTO orders (id, reference, currency, customer, items, item_count, shipping_address,
                      billing_address, metadata, subtotal, shipping, total, placed_at)
  SELECT $1::uuid, $2::text, $3::text, $4::jsonb, $5::jsonb, $6::int, $7::jsonb, $8::jsonb, $9::jsonb,
         $10::bigint, $11::bigint, $12::bigint, $13::timestamptz
  FROM go
  RETURNING id
), box AS (
  INSERT INTO outbox (message_id, order_id, channel, contract_type, routing_key, payload, headers)
  SELECT m.message_id, $1::uuid, m.channel, m.contract_type, m.routing_key, m.payload, m.headers
  FROM go, jsonb_to_recordset($14::jsonb)
    AS m(message_id text, channel text, contract_type text, routing_key text, payload jsonb, headers jsonb)
  RETURNING 1
), states AS (
  INSERT INTO notification_states (order_id, channel, message_id)
  SELECT $1::uuid, m.channel, m.message_id
  FROM go, jsonb_to_recordset($14::jsonb) AS m(message_id text, channel text)
  RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM ord) AS created`;

const FIND_KEY_SQL = `SELECT request_hash, response FROM idempotency_keys WHERE client = $1 AND key = $2`;

const FIND_ORDER_SQL = `
SELECT o.id, o.reference, o.currency, o.customer, o.items, o.item_count, o.shipping_address,
       o.billing_address, o.subtotal, o.shipping, o.total, o.placed_at,
       s.channel, s.state, s.message_id, s.attempts, s.details, s.published_at, s.updated_at
FROM orders o
LEFT JOIN notification_states s ON s.order_id = o.id
WHERE o.id = $1`;

interface OrderRow {
  id: string;
  reference: string;
  currency: CurrencyCode;
  customer: OrderViewBody['customer'];
  items: OrderViewBody['items'];
  item_count: number;
  shipping_address: OrderViewBody['shippingAddress'];
  billing_address: OrderViewBody['billingAddress'];
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

/** The channel to NOTIFY on for new outbox rows of a schema. */
export function outboxNotifyChannel(schema: string): string {
  return `${schema}_outbox`;
}

export class OrderRepository implements OrderStore {
  /** @param onCommitted called after an order and its outbox rows committed (wakes the relays). */
  constructor(
    private readonly pool: Pool,
    private readonly onCommitted: () => void = () => undefined,
  ) {}

  async insertOrder(
    order: AcceptedOrder,
    messages: readonly OutboxMessage[],
    response: StoredResponse,
    idempotency: IdempotencyClaim | null,
  ): Promise<InsertOutcome> {
    const t = order.totals;
    const outbox = messages.map((m) => ({
      message_id: m.messageId,
      channel: m.channel,
      contract_type: m.contractType,
      routing_key: m.routingKey,
      payload: m.payload,
      headers: m.headers,
    }));
    try {
      const result = await this.pool.query<{ created: boolean }>({
        name: 'order-api-insert-order',
        text: INSERT_ORDER_SQL,
        values: [
          order.id,
          order.reference,
          order.currency,
          JSON.stringify(order.customer),
          JSON.stringify(t.lines),
          t.itemCount,
          JSON.stringify(order.shippingAddress),
          JSON.stringify(order.billingAddress),
          JSON.stringify(order.metadata),
          t.subtotal,
          t.shipping,
          t.total,
          order.placedAt,
          JSON.stringify(outbox),
          idempotency?.client ?? null,
          idempotency?.key ?? null,
          idempotency?.requestHash ?? null,
          response.statusCode,
          JSON.stringify(response.body),
        ],
      });
      if (result.rows[0]?.created) {
        this.onCommitted();
        return { kind: 'created' };
      }
    } catch (err) {
      if (isUniqueViolation(err, 'orders_reference_key')) return { kind: 'reference-taken' };
      throw err;
    }
    if (!idempotency) throw new Error('order insert affected no rows without an idempotency key');
    const existing = await this.pool.query<{
      request_hash: string;
      response: OrderAcceptedBody;
    }>(FIND_KEY_SQL, [idempotency.client, idempotency.key]);
    const row = existing.rows[0];
    if (!row) throw new Error('idempotency key conflicted but is no longer stored');
    return {
      kind: 'key-exists',
      requestHash: row.request_hash,
      response: { statusCode: 201, body: row.response },
    };
  }

  async findOrder(id: string): Promise<OrderViewBody | null> {
    const { rows } = await this.pool.query<OrderRow>({
      name: 'order-api-find-order',
      text: FIND_ORDER_SQL,
      values: [id],
    });
    const first = rows[0];
    if (!first) return null;
    const channels = {} as OrderViewBody['channels'];
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
}

function isUniqueViolation(err: unknown, constraint: string): boolean {
  const e = err as { code?: string; constraint?: string };
  return e?.code === UNIQUE_VIOLATION && e.constraint === constraint;
}
