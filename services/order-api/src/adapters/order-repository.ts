import { CHANNELS } from '@notify/contracts';
import type { Channel, CurrencyCode } from '@notify/contracts';
import type { Pool } from '@notify/service-kit';
import type { IdempotencyClaim, InsertOutcome, OrderStore, StoredResponse } from '../domain/create-order.js';
import type { AcceptedOrder, OutboxMessage } from '../domain/order-messages.js';
import { deriveOrderStatus } from '../domain/order-status.js';
import type { ChannelState } from '../domain/order-status.js';
import type { OrderAcceptedBody, OrderViewBody } from '../http/order-schemas.js';

const UNIQUE_VIOLATION = '23505';
const DEADLOCK = '40P01';

// One statement writes a whole batch of orders: atomic without BEGIN/COMMIT and one
// commit (one WAL flush) for all of them. Data-modifying CTEs all run; `go` keeps the
// orders whose idempotency key is new (or absent). A key that another transaction is
// inserting makes this one wait on the unique index until that one ends, then conflict
// (DO NOTHING: the caller replays the stored answer) or, if it rolled back, proceed. A
// key repeated within the batch conflicts with its first occurrence the same way. Keys
// are inserted in sorted order so two concurrent batches cannot deadlock on them.
// Foreign keys are checked at the end of the statement.
const INSERT_ORDERS_SQL = `
WITH input AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(
    id uuid, reference text, currency text, customer jsonb, items jsonb, item_count int,
    shipping_address jsonb, billing_address jsonb, metadata jsonb, subtotal bigint, shipping bigint,
    total bigint, placed_at timestamptz, outbox jsonb,
    idem_client text, idem_key text, request_hash text, response jsonb)
), idem AS (
  INSERT INTO idempotency_keys (client, key, request_hash, order_id, status_code, response)
  SELECT idem_client, idem_key, request_hash, id, 201, response
  FROM input WHERE idem_key IS NOT NULL
  ORDER BY idem_client, idem_key
  ON CONFLICT (client, key) DO NOTHING
  RETURNING order_id
), go AS (
  SELECT * FROM input WHERE idem_key IS NULL OR id IN (SELECT order_id FROM idem)
), ord AS (
  INSERT INTO orders (id, reference, currency, customer, items, item_count, shipping_address,
                      billing_address, metadata, subtotal, shipping, total, placed_at)
  SELECT id, reference, currency, customer, items, item_count, shipping_address,
         billing_address, metadata, subtotal, shipping, total, placed_at
  FROM go
  RETURNING id
), box AS (
  INSERT INTO outbox (message_id, order_id, channel, contract_type, routing_key, payload, headers)
  SELECT m.message_id, go.id, m.channel, m.contract_type, m.routing_key, m.payload, m.headers
  FROM go, jsonb_to_recordset(go.outbox)
    AS m(message_id text, channel text, contract_type text, routing_key text, payload jsonb, headers jsonb)
), states AS (
  INSERT INTO notification_states (order_id, channel, message_id)
  SELECT go.id, m.channel, m.message_id
  FROM go, jsonb_to_recordset(go.outbox) AS m(message_id text, channel text)
)
SELECT id FROM ord`;

const FIND_KEYS_SQL = `
SELECT k.client, k.key, k.request_hash, k.response
FROM idempotency_keys k
JOIN unnest($1::text[], $2::text[]) AS w(client, key) ON k.client = w.client AND k.key = w.key`;

interface PendingInsert {
  readonly order: AcceptedOrder;
  readonly messages: readonly OutboxMessage[];
  readonly response: StoredResponse;
  readonly idempotency: IdempotencyClaim | null;
  readonly resolve: (outcome: InsertOutcome) => void;
  readonly reject: (err: unknown) => void;
}

export interface OrderWriteOptions {
  /** Orders written by one statement at most. */
  readonly maxBatch?: number;
  /** Statements in flight at once; requests arriving meanwhile wait and form the next batch. */
  readonly maxConcurrentWrites?: number;
  /** Called after orders and their outbox rows committed (wakes the relays). */
  readonly onCommitted?: () => void;
}

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

/**
 * Orders in PostgreSQL. Writes are grouped: the first order goes out at once, and
 * orders that arrive while writes are in flight are written together by the next
 * statement, so under load many orders share one round trip and one commit (group
 * commit done by the application) while a lone order never waits.
 */
export class OrderRepository implements OrderStore {
  private readonly queue: PendingInsert[] = [];
  private writing = 0;
  private readonly maxBatch: number;
  private readonly maxConcurrentWrites: number;
  private readonly onCommitted: () => void;

  constructor(
    private readonly pool: Pool,
    options: OrderWriteOptions = {},
  ) {
    this.maxBatch = options.maxBatch ?? 50;
    this.maxConcurrentWrites = options.maxConcurrentWrites ?? 4;
    this.onCommitted = options.onCommitted ?? (() => undefined);
  }

  insertOrder(
    order: AcceptedOrder,
    messages: readonly OutboxMessage[],
    response: StoredResponse,
    idempotency: IdempotencyClaim | null,
  ): Promise<InsertOutcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ order, messages, response, idempotency, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.writing < this.maxConcurrentWrites && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.writing++;
      void this.write(batch).finally(() => {
        this.writing--;
        this.pump();
      });
    }
  }

  private async write(batch: PendingInsert[]): Promise<void> {
    let created: Set<string>;
    try {
      created = await this.insertBatch(batch);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (batch.length > 1 && (code === UNIQUE_VIOLATION || code === DEADLOCK)) {
        // One order spoiled the batch (a reference clash, a deadlock on a shared key):
        // write each on its own so only that one is affected.
        await Promise.all(batch.map((p) => this.write([p])));
      } else if (batch[0] && isUniqueViolation(err, 'orders_reference_key')) {
        batch[0].resolve({ kind: 'reference-taken' });
      } else {
        for (const p of batch) p.reject(err);
      }
      return;
    }
    // Stored orders are answered first and unconditionally: nothing after the commit
    // may turn a stored order into an error for its client.
    const refused: PendingInsert[] = [];
    for (const p of batch) {
      if (created.has(p.order.id)) p.resolve({ kind: 'created' });
      else refused.push(p);
    }
    if (refused.length > 0) await this.answerRefused(refused);
  }

  private async insertBatch(batch: readonly PendingInsert[]): Promise<Set<string>> {
    const rows = batch.map(({ order, messages, response, idempotency }) => {
      const t = order.totals;
      return {
        id: order.id,
        reference: order.reference,
        currency: order.currency,
        customer: order.customer,
        items: t.lines,
        item_count: t.itemCount,
        shipping_address: order.shippingAddress,
        billing_address: order.billingAddress,
        metadata: order.metadata,
        subtotal: t.subtotal,
        shipping: t.shipping,
        total: t.total,
        placed_at: order.placedAt,
        outbox: messages.map((m) => ({
          message_id: m.messageId,
          channel: m.channel,
          contract_type: m.contractType,
          routing_key: m.routingKey,
          payload: m.payload,
          headers: m.headers,
        })),
        idem_client: idempotency?.client ?? null,
        idem_key: idempotency?.key ?? null,
        request_hash: idempotency?.requestHash ?? null,
        response: response.body,
      };
    });
    const result = await this.pool.query<{ id: string }>({
      name: 'order-api-insert-orders',
      text: INSERT_ORDERS_SQL,
      values: [JSON.stringify(rows)],
    });
    const created = new Set(result.rows.map((r) => r.id));
    if (created.size > 0) this.onCommitted();
    return created;
  }

  /** Orders not stored because their Idempotency-Key was taken: answer with what that key stored. */
  private async answerRefused(refused: readonly PendingInsert[]): Promise<void> {
    const claims = refused.map((p) => p.idempotency);
    let found: Map<string, { request_hash: string; response: OrderAcceptedBody }>;
    try {
      const { rows } = await this.pool.query<{
        client: string;
        key: string;
        request_hash: string;
        response: OrderAcceptedBody;
      }>(FIND_KEYS_SQL, [claims.map((c) => c?.client ?? ''), claims.map((c) => c?.key ?? '')]);
      found = new Map(rows.map((r) => [`${r.client}\u0000${r.key}`, r]));
    } catch (err) {
      for (const p of refused) p.reject(err);
      return;
    }
    for (const p of refused) {
      const row = p.idempotency && found.get(`${p.idempotency.client}\u0000${p.idempotency.key}`);
      if (!row) {
        p.reject(new Error('an order was neither stored nor covered by a stored idempotency key'));
        continue;
      }
      p.resolve({
        kind: 'key-exists',
        requestHash: row.request_hash,
        response: { statusCode: 201, body: row.response },
      });
    }
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
