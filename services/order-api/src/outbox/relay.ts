import { randomUUID } from 'node:crypto';
import { HEADERS, notifications } from '@notify/contracts';
import type { NotificationContract, Payload } from '@notify/contracts';
import {
  BrokerUnavailableError,
  errorMessage,
  PublishNotConfirmedError,
  PublishTimeoutError,
} from '@notify/messaging';
import type { Broker, BrokerState, Publisher } from '@notify/messaging';
import type { Pool } from '@notify/service-kit';
import type { Logger } from 'pino';
import { outboxNotifyChannel } from '../adapters/order-repository.js';
import type { RelayMetrics } from '../metrics.js';
import { OutboxListener } from './outbox-listener.js';
import { Wakeup } from './wakeup.js';

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
// outcome events) is kept, but published_at is recorded either way.
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

// Rows that failed while the broker was away should not wait out their backoff once it is back.
const RELEASE_BACKOFF_SQL = `
UPDATE outbox SET next_attempt_at = now() WHERE published_at IS NULL AND next_attempt_at > now()`;

interface OutboxRow {
  id: string;
  message_id: string;
  order_id: string;
  contract_type: string;
  payload: unknown;
  headers: Record<string, unknown>;
  attempts: number;
  created_at: Date;
}

type PublishResult = { ok: true } | { ok: false; error: unknown; brokerLevel: boolean };

const CONTRACTS_BY_TYPE: ReadonlyMap<string, NotificationContract> = new Map(
  Object.values(notifications).map((c) => [c.type, c] as const),
);

/** Errors that say the broker (or the way to it) is unavailable, not that the message is wrong. */
function isBrokerLevel(err: unknown): boolean {
  if (
    err instanceof BrokerUnavailableError ||
    err instanceof PublishTimeoutError ||
    err instanceof PublishNotConfirmedError
  ) {
    return true;
  }
  const name = (err as Error | undefined)?.name;
  return name !== 'UnroutableError' && name !== 'ContractValidationError';
}

export interface OutboxRelayOptions {
  readonly pool: Pool;
  readonly publisher: Pick<Publisher, 'publish'>;
  readonly broker: Broker;
  /** For the dedicated LISTEN session. */
  readonly databaseUrl: string;
  readonly schema: string;
  readonly logger?: Logger;
  readonly metrics?: RelayMetrics;
  /** Rows claimed per transaction. */
  readonly batchSize?: number;
  /** Claim loops in this process; they never share rows. */
  readonly concurrency?: number;
  /** Safety poll when no notification arrives (missed NOTIFY, rows whose backoff expired). */
  readonly pollIntervalMs?: number;
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  readonly publishTimeoutMs?: number;
}

/**
 * Publishes outbox rows to RabbitMQ: woken at once by NOTIFY from the transaction
 * that wrote them, by the broker coming back, and by a slow safety poll. It does not
 * claim rows while the broker is known to be down or blocked, and backs off
 * exponentially (capped) when publishing fails.
 */
export class OutboxRelay {
  /** Counters for this relay instance (tests compare them across replicas). */
  readonly stats = { published: 0, failed: 0, batches: 0 };
  /** Sent with this process's NOTIFYs, so its own LISTEN session can ignore them. */
  readonly instanceId = randomUUID();
  private readonly rowsReady = new Wakeup();
  private readonly claimText: string;
  private readonly brokerBack = new Wakeup();
  private readonly listener: OutboxListener;
  private readonly log: Logger | undefined;
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private workers: Promise<void>[] = [];
  private stopping = false;
  private readonly onBrokerState = (state: BrokerState) => {
    if (state !== 'connected') return;
    void this.options.pool.query(RELEASE_BACKOFF_SQL).catch(() => undefined);
    this.brokerBack.notify();
    this.rowsReady.notify();
  };

  constructor(private readonly options: OutboxRelayOptions) {
    this.log = options.logger?.child({ component: 'outbox-relay' });
    this.batchSize = options.batchSize ?? 100;
    // BEGIN, the commit setting and the claim go in one round trip (simple protocol,
    // so the limit, our own integer, is written into the text).
    this.claimText = `BEGIN; SET LOCAL synchronous_commit TO off; ${claimSql(this.batchSize)}`;
    this.pollIntervalMs = options.pollIntervalMs ?? 5_000;
    this.initialBackoffMs = options.initialBackoffMs ?? 100;
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000;
    this.listener = new OutboxListener({
      databaseUrl: options.databaseUrl,
      channel: outboxNotifyChannel(options.schema),
      onNotify: (sender) => {
        if (sender !== this.instanceId) this.rowsReady.notifyOne();
      },
      onListening: () => this.rowsReady.notify(),
      ...(options.logger ? { logger: options.logger } : {}),
    });
  }

  /** The LISTEN session is up (readiness detail; the poll still works without it). */
  get listening(): boolean {
    return this.listener.listening;
  }

  /** New rows were committed by this process: look now. */
  wake(): void {
    this.rowsReady.notifyOne();
  }

  start(): void {
    if (this.workers.length) return;
    this.stopping = false;
    this.options.broker.on('state', this.onBrokerState);
    this.listener.start();
    const n = Math.max(1, this.options.concurrency ?? 2);
    for (let i = 0; i < n; i++) this.workers.push(this.run());
  }

  /** Finishes the batches in flight (their publishes confirm or time out), then stops. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.rowsReady.notify();
    this.brokerBack.notify();
    await Promise.all(this.workers);
    this.workers = [];
    this.options.broker.off('state', this.onBrokerState);
    await this.listener.stop();
  }

  private backoff(failures: number): number {
    const base = Math.min(this.maxBackoffMs, this.initialBackoffMs * 2 ** Math.max(0, failures - 1));
    // +-20% so replicas that failed together do not retry together.
    return Math.round(base * (0.8 + Math.random() * 0.4));
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      const wakeSeen = this.rowsReady.generation;
      const brokerSeen = this.brokerBack.generation;
      if (!this.options.broker.isReady()) {
        await this.brokerBack.wait(this.pollIntervalMs, brokerSeen);
        continue;
      }
      let claimed = 0;
      let brokerFailures = 0;
      try {
        ({ claimed, brokerFailures } = await this.relayBatch());
      } catch (err) {
        // The database failed us: back off, but a notification (or the LISTEN session
        // coming back) means it is reachable again, so it ends the wait early.
        if (this.stopping) break;
        failures++;
        this.log?.warn({ err: errorMessage(err) }, 'outbox batch failed; backing off');
        await this.rowsReady.wait(this.backoff(failures), wakeSeen);
        continue;
      }
      if (this.stopping) break;
      if (brokerFailures > 0) {
        failures++;
        await this.brokerBack.wait(this.backoff(failures), brokerSeen);
        continue;
      }
      failures = 0;
      if (claimed >= this.batchSize) continue;
      await this.rowsReady.wait(this.pollIntervalMs, wakeSeen);
    }
  }

  /** Claims one batch, publishes it with confirms, and records the outcome of each row. */
  private async relayBatch(): Promise<{ claimed: number; brokerFailures: number }> {
    const client = await this.options.pool.connect();
    let broken: Error | undefined;
    // The client is idle while the batch is published; if its connection dies then, pg
    // emits 'error' on it, and a checked-out client has no listener: without this one
    // the process would crash instead of rolling back.
    const onError = (err: Error) => {
      broken ??= err;
    };
    client.on('error', onError);
    try {
      // A lost mark only means a re-publish under the same message id, so the relay's
      // commits need not wait for the WAL flush; the order's own insert still does.
      const replies = (await client.query(this.claimText)) as unknown as { rows: OutboxRow[] }[];
      const rows = replies[2]?.rows ?? [];
      if (rows.length === 0) {
        await client.query('COMMIT');
        return { claimed: 0, brokerFailures: 0 };
      }
      const results = await Promise.all(rows.map((row) => this.publishRow(row)));
      const publishedIds: string[] = [];
      const failed: { row: OutboxRow; error: unknown; brokerLevel: boolean }[] = [];
      rows.forEach((row, i) => {
        const r = results[i];
        if (r?.ok) publishedIds.push(row.id);
        else if (r) failed.push({ row, error: r.error, brokerLevel: r.brokerLevel });
      });
      if (failed.length) {
        await client.query({
          name: 'order-api-outbox-mark-failed',
          text: MARK_FAILED_SQL,
          values: [
            failed.map((f) => f.row.id),
            failed.map((f) => errorMessage(f.error).slice(0, 1000)),
            failed.map((f) => this.backoff(f.row.attempts + 1)),
          ],
        });
      }
      let lags: number[] = [];
      if (publishedIds.length) {
        // Mark and COMMIT in one round trip (simple protocol); the ids are bigints
        // read from the table, checked before they are written into the text.
        if (!publishedIds.every((id) => /^\d+$/.test(id))) throw new Error('unexpected outbox id');
        const replies = (await client.query(
          `${MARK_PUBLISHED_SQL.replace('$1::bigint[]', `'{${publishedIds.join(',')}}'::bigint[]`)}; COMMIT`,
        )) as unknown as { rows: { lag_seconds: number }[] }[];
        lags = (replies[0]?.rows ?? []).map((r) => r.lag_seconds);
      } else {
        await client.query('COMMIT');
      }

      this.stats.batches++;
      this.stats.published += publishedIds.length;
      this.stats.failed += failed.length;
      this.options.metrics?.published(publishedIds.length);
      for (const lag of lags) this.options.metrics?.outboxLag(lag);
      const first = failed[0];
      if (first) {
        this.log?.warn(
          {
            err: errorMessage(first.error),
            failed: failed.length,
            published: publishedIds.length,
            orderId: first.row.order_id,
            messageId: first.row.message_id,
          },
          'outbox publish failed; rows will be retried with backoff',
        );
      }
      return { claimed: rows.length, brokerFailures: failed.filter((f) => f.brokerLevel).length };
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

  private async publishRow(row: OutboxRow): Promise<PublishResult> {
    const contract = CONTRACTS_BY_TYPE.get(row.contract_type);
    if (!contract) {
      this.options.metrics?.publishFailed('UnknownContract');
      return {
        ok: false,
        error: new Error(`unknown contract type ${row.contract_type}`),
        brokerLevel: false,
      };
    }
    const { [HEADERS.traceparent]: traceparent, ...headers } = row.headers;
    const started = performance.now();
    try {
      await this.options.publisher.publish(contract, row.payload as Payload<NotificationContract>, {
        messageId: row.message_id,
        correlationId: row.order_id,
        headers,
        ...(typeof traceparent === 'string' ? { traceparent } : {}),
        timestamp: row.created_at,
        ...(this.options.publishTimeoutMs ? { timeoutMs: this.options.publishTimeoutMs } : {}),
      });
      this.options.metrics?.publishLatency((performance.now() - started) / 1000);
      this.log?.debug({ orderId: row.order_id, messageId: row.message_id }, 'outbox message published');
      return { ok: true };
    } catch (err) {
      this.options.metrics?.publishFailed((err as Error)?.name ?? 'Error');
      return { ok: false, error: err, brokerLevel: isBrokerLevel(err) };
    }
  }
}
