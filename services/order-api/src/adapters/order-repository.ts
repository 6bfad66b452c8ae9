import { isDatabaseOutage } from '@notify/service-kit';
import type { Pool, RetentionRule } from '@notify/service-kit';
import type {
  IdempotencyClaim,
  InsertOutcome,
  OrderAcceptance,
  OrderStore,
  StoredResponse,
} from '../domain/create-order.js';
import type { AcceptedOrder, OutboxMessage } from '../domain/order-messages.js';
import { insertOutboxRowsSql, outboxRecords } from '../outbox/outbox-store.js';
import { GroupCommit } from './group-commit.js';
import type { GroupCommitOptions, PendingWrite } from './group-commit.js';

const UNIQUE_VIOLATION = '23505';

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
    total bigint, placed_at timestamptz, outbox jsonb, client text,
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
                      billing_address, metadata, subtotal, shipping, total, placed_at, client)
  SELECT id, reference, currency, customer, items, item_count, shipping_address,
         billing_address, metadata, subtotal, shipping, total, placed_at, client
  FROM go
  RETURNING id
), box AS (
  ${insertOutboxRowsSql('go')}
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

interface OrderWrite {
  readonly order: AcceptedOrder;
  readonly messages: readonly OutboxMessage[];
  readonly response: StoredResponse;
  readonly idempotency: IdempotencyClaim | null;
  readonly owner: string;
}

type PendingInsert = PendingWrite<OrderWrite, InsertOutcome>;

export interface OrderWriteOptions extends GroupCommitOptions {
  /** Called after orders and their outbox rows committed (wakes the relays). */
  readonly onCommitted?: () => void;
}

/**
 * Orders in PostgreSQL: one statement writes a batch of orders, their outbox messages,
 * channel states and idempotency keys. Batches are formed by group-commit.ts, so under
 * load many orders share one round trip and one commit while a lone order never waits.
 * Reading orders back is order-read-model.ts's job.
 */
export class OrderRepository implements OrderStore {
  private readonly writes: GroupCommit<OrderWrite, InsertOutcome>;
  private readonly onCommitted: () => void;

  constructor(
    private readonly pool: Pool,
    options: OrderWriteOptions = {},
  ) {
    const { onCommitted, ...grouping } = options;
    this.onCommitted = onCommitted ?? (() => undefined);
    this.writes = new GroupCommit((batch) => this.write(batch), {
      // Every order of the batch would meet an outage again; anything else may be one order's fault.
      retryAlone: (err) => !isDatabaseOutage(err),
      ...grouping,
    });
  }

  insertOrder(
    order: AcceptedOrder,
    messages: readonly OutboxMessage[],
    response: StoredResponse,
    idempotency: IdempotencyClaim | null,
    owner: string,
  ): Promise<InsertOutcome> {
    return this.writes.submit({ order, messages, response, idempotency, owner });
  }

  private async write(batch: PendingInsert[]): Promise<void> {
    let created: Set<string>;
    try {
      created = await this.insertBatch(batch.map((p) => p.item));
    } catch (err) {
      // A batch that fails is written again one order at a time by GroupCommit
      // (retryAlone), so only the order that spoiled it sees an error.
      if (batch.length === 1 && batch[0] && isUniqueViolation(err, 'orders_reference_key')) {
        batch[0].resolve({ kind: 'reference-taken' });
        return;
      }
      throw err;
    }
    // Stored orders are answered first and unconditionally: nothing after the commit
    // may turn a stored order into an error for its client.
    const refused: PendingInsert[] = [];
    for (const p of batch) {
      if (created.has(p.item.order.id)) p.resolve({ kind: 'created' });
      else refused.push(p);
    }
    if (refused.length > 0) await this.answerRefused(refused);
  }

  private async insertBatch(batch: readonly OrderWrite[]): Promise<Set<string>> {
    const rows = batch.map(({ order, messages, response, idempotency, owner }) => {
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
        outbox: outboxRecords(messages),
        client: owner,
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
    const claims = refused.map((p) => p.item.idempotency);
    let found: Map<string, { request_hash: string; response: OrderAcceptance }>;
    try {
      const { rows } = await this.pool.query<{
        client: string;
        key: string;
        request_hash: string;
        response: OrderAcceptance;
      }>(FIND_KEYS_SQL, [claims.map((c) => c?.client ?? ''), claims.map((c) => c?.key ?? '')]);
      found = new Map(rows.map((r) => [`${r.client}\u0000${r.key}`, r]));
    } catch (err) {
      for (const p of refused) p.reject(err);
      return;
    }
    for (const p of refused) {
      const claim = p.item.idempotency;
      const row = claim && found.get(`${claim.client}\u0000${claim.key}`);
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
}

function isUniqueViolation(err: unknown, constraint: string): boolean {
  const e = err as { code?: string; constraint?: string };
  return e?.code === UNIQUE_VIOLATION && e.constraint === constraint;
}

/**
 * Idempotency keys (and the answers stored with them) go after their TTL; the order
 * itself stays.
 */
export function idempotencyKeyRetentionRule(ttlMs: number): RetentionRule {
  return {
    name: 'idempotency_keys',
    table: 'idempotency_keys',
    olderThan: 'created_at < $1',
    maxAgeMs: ttlMs,
  };
}
