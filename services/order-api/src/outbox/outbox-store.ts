import type { Pool, PoolClient, RetentionRule } from '@notify/service-kit';
import type { OutboxMessage } from '../domain/order-messages.js';

// Every statement that touches the outbox table lives here, so the claim, the marks,
// the wake-ups and the clean-up agree on what a row's columns mean.

/** The channel on which committed outbox rows of a schema are announced to relays. */
export function outboxNotifyChannel(schema: string): string {
  return `${schema}_outbox`;
}

/** One message as the order's insert statement reads it (see `insertOutboxRowsSql`). */
export interface OutboxRecord {
  readonly message_id: string;
  readonly channel: string;
  readonly contract_type: string;
  readonly routing_key: string;
  readonly payload: unknown;
  readonly headers: Readonly<Record<string, string>>;
}

export function outboxRecords(messages: readonly OutboxMessage[]): OutboxRecord[] {
  return messages.map((m) => ({
    message_id: m.messageId,
    channel: m.channel,
    contract_type: m.contractType,
    routing_key: m.routingKey,
    payload: m.payload,
    headers: m.headers,
  }));
}

/**
 * The data-modifying CTE body that stores the outbox rows of the orders in `source`
 * (a CTE with an `id` column and an `outbox` column of `outboxRecords` JSON). It is
 * part of the order's own statement, so an order and its messages commit together.
 */
export function insertOutboxRowsSql(source: string): string {
  return `INSERT INTO outbox (message_id, order_id, channel, contract_type, routing_key, payload, headers)
  SELECT m.message_id, ${source}.id, m.channel, m.contract_type, m.routing_key, m.payload, m.headers
  FROM ${source}, jsonb_to_recordset(${source}.outbox)
    AS m(message_id text, channel text, contract_type text, routing_key text, payload jsonb, headers jsonb)`;
}

// Rows are claimed in a transaction with FOR UPDATE SKIP LOCKED and stay locked while
// they are published, so a concurrent relay (another replica) skips them instead of
// publishing them too. published_at is set only after the broker's confirm, in the same
// transaction; if the process dies before COMMIT the locks go away with the session and
// the rows are published again with the same message id, which consumers de-duplicate.
const claimSql = (limit: number) => `
SELECT id, message_id, order_id, contract_type, payload, headers, attempts, created_at
FROM outbox
WHERE published_at IS NULL AND next_attempt_at <= now()
ORDER BY id
LIMIT ${Math.max(1, Math.floor(limit))}
FOR UPDATE SKIP LOCKED`;

// The channel state moves forward only: a state already past `published` (set by the
// outcome events) is kept, but published_at is recorded either way. The leading comment
// names the statement for anyone watching the sessions (the relay's crash test too).
const MARK_PUBLISHED_SQL = `/* outbox-mark-published */
WITH done AS (
  UPDATE outbox
  SET published_at = clock_timestamp(), attempts = attempts + 1, last_error = NULL
  WHERE id = ANY($1::bigint[])
  RETURNING order_id, channel, created_at, published_at
), states AS (
  UPDATE notification_states s
  SET published_at = d.published_at,
      state = CASE WHEN s.state = 'pending' THEN 'published' ELSE s.state END,
      updated_at = CASE WHEN s.state = 'pending' THEN d.published_at ELSE s.updated_at END
  FROM done d
  WHERE s.order_id = d.order_id AND s.channel = d.channel AND s.published_at IS NULL
)
SELECT EXTRACT(EPOCH FROM published_at - created_at)::float8 AS lag_seconds FROM done`;

const MARK_FAILED_SQL = `
UPDATE outbox o
SET attempts = o.attempts + 1,
    last_error = f.error,
    next_attempt_at = clock_timestamp() + f.delay_ms * interval '1 millisecond'
FROM unnest($1::bigint[], $2::text[], $3::int[]) AS f(id, error, delay_ms)
WHERE o.id = f.id`;

const RELEASE_BACKOFF_SQL = `
UPDATE outbox SET next_attempt_at = now() WHERE published_at IS NULL AND next_attempt_at > now()`;

const BACKLOG_SQL = `
SELECT count(*)::int AS backlog,
       COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - min(created_at)), 0)::float8 AS oldest_seconds
FROM outbox WHERE published_at IS NULL`;

export interface OutboxRow {
  readonly id: string;
  readonly message_id: string;
  readonly order_id: string;
  readonly contract_type: string;
  readonly payload: unknown;
  readonly headers: Record<string, unknown>;
  readonly attempts: number;
  readonly created_at: Date;
}

/** What became of the rows of one claimed batch. */
export interface BatchOutcome {
  /** Ids of the rows the broker confirmed. */
  readonly published: readonly string[];
  /** Rows to try again after `delayMs`. */
  readonly failed: readonly { readonly id: string; readonly error: string; readonly delayMs: number }[];
}

export interface OutboxBacklog {
  /** Rows not yet confirmed by the broker. */
  readonly backlog: number;
  /** Age of the oldest of them in seconds, 0 when there is none. */
  readonly oldestSeconds: number;
}

/** The outbox table as the relay, the metrics and the retention sweep see it. */
export class OutboxStore {
  constructor(private readonly pool: Pool) {}

  /**
   * Claims up to `limit` rows in a new transaction, hands them to `publish`, and
   * records its outcome in the same transaction. Returns that outcome (null when there
   * was nothing to claim) and, per published row, the seconds from its insert to its
   * mark. Anything that fails rolls the transaction back, which leaves every claimed
   * row unpublished.
   */
  async claimBatch<T extends BatchOutcome>(
    limit: number,
    publish: (rows: readonly OutboxRow[]) => Promise<T>,
  ): Promise<{ readonly outcome: T | null; readonly lagSeconds: readonly number[] }> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    // The client is idle while the batch is published; if its connection dies then, pg
    // emits 'error' on it, and a checked-out client has no listener: without this one
    // the process would crash instead of rolling back.
    const onError = (err: Error) => {
      broken ??= err;
    };
    client.on('error', onError);
    try {
      // BEGIN, the commit setting and the claim go in one round trip (simple protocol,
      // so the limit, our own integer, is written into the text). A lost mark only
      // means a re-publish under the same message id, so the relay's commits need not
      // wait for the WAL flush; the order's own insert still does.
      const replies = (await client.query(
        `BEGIN; SET LOCAL synchronous_commit TO off; ${claimSql(limit)}`,
      )) as unknown as { rows: OutboxRow[] }[];
      const rows = replies[2]?.rows ?? [];
      if (rows.length === 0) {
        await client.query('COMMIT');
        return { outcome: null, lagSeconds: [] };
      }
      const outcome = await publish(rows);
      if (outcome.failed.length) {
        await client.query({
          name: 'order-api-outbox-mark-failed',
          text: MARK_FAILED_SQL,
          values: [
            outcome.failed.map((f) => f.id),
            outcome.failed.map((f) => f.error.slice(0, 1000)),
            outcome.failed.map((f) => f.delayMs),
          ],
        });
      }
      const lagSeconds = await commitPublished(client, outcome.published);
      return { outcome, lagSeconds };
    } catch (err) {
      broken ??= err as Error;
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.off('error', onError);
      // A client that failed mid-transaction is discarded rather than returned to the pool.
      client.release(broken);
    }
  }

  /** Rows that failed while the broker was away should not wait out their backoff once it is back. */
  async releaseBackoff(): Promise<void> {
    await this.pool.query(RELEASE_BACKOFF_SQL);
  }

  /** Announces committed rows to the relays of every replica (outbox-signal.ts says when). */
  async notify(channel: string, sender: string): Promise<void> {
    await this.pool.query({
      name: 'order-api-outbox-notify',
      text: 'SELECT pg_notify($1, $2)',
      values: [channel, sender],
    });
  }

  /** Read across replicas, since they all share the table. */
  async backlog(): Promise<OutboxBacklog> {
    const { rows } = await this.pool.query<{ backlog: number; oldest_seconds: number }>(BACKLOG_SQL);
    return { backlog: rows[0]?.backlog ?? 0, oldestSeconds: rows[0]?.oldest_seconds ?? 0 };
  }
}

/** Marks the rows published and commits, in one round trip (simple protocol). */
async function commitPublished(client: PoolClient, ids: readonly string[]): Promise<number[]> {
  if (ids.length === 0) {
    await client.query('COMMIT');
    return [];
  }
  // The ids are bigints read from the table, checked before they are written into the text.
  if (!ids.every((id) => /^\d+$/.test(id))) throw new Error('unexpected outbox id');
  const replies = (await client.query(
    `${MARK_PUBLISHED_SQL.replace('$1::bigint[]', `'{${ids.join(',')}}'::bigint[]`)}; COMMIT`,
  )) as unknown as { rows: { lag_seconds: number }[] }[];
  return (replies[0]?.rows ?? []).map((r) => r.lag_seconds);
}

/**
 * Published rows stored longer ago than `maxAgeMs` are deleted; a row never published
 * is never deleted. Rows are found through the primary key (ids grow with time), so the
 * sweep adds no index to the publish path.
 */
export function publishedOutboxRetentionRule(maxAgeMs: number): RetentionRule {
  return {
    name: 'outbox_published',
    table: 'outbox',
    olderThan: `published_at IS NOT NULL
        AND id < (SELECT coalesce(min(id), 9223372036854775807) FROM outbox WHERE created_at >= $1)`,
    maxAgeMs,
  };
}
