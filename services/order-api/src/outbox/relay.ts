import { randomUUID } from 'node:crypto';
import { ContractValidationError, HEADERS, notifications } from '@notify/contracts';
import type { NotificationContract, Payload } from '@notify/contracts';
import { errorMessage, UnroutableError } from '@notify/messaging';
import type { Broker, BrokerState, Publisher } from '@notify/messaging';
import type { Logger } from 'pino';
import type { RelayMetrics } from '../metrics.js';
import { OutboxListener } from './outbox-listener.js';
import { outboxNotifyChannel } from './outbox-store.js';
import type { BatchOutcome, OutboxRow, OutboxStore } from './outbox-store.js';
import { Wakeup } from './wakeup.js';

type PublishResult = { ok: true } | { ok: false; error: unknown; brokerLevel: boolean };

/** A batch after its publishes, as the store records it and the relay reports it. */
interface PublishedBatch extends BatchOutcome {
  readonly published: string[];
  readonly failed: (BatchOutcome['failed'][number] & {
    readonly row: OutboxRow;
    readonly brokerLevel: boolean;
  })[];
}

const CONTRACTS_BY_TYPE: ReadonlyMap<string, NotificationContract> = new Map(
  Object.values(notifications).map((c) => [c.type, c] as const),
);

/**
 * Whether a failed publish says the broker (or the way to it) is unavailable rather
 * than that the message is wrong. Only a returned (unroutable) message and one that does
 * not fit its contract are the message's fault; everything else, the publisher's own
 * unavailable, timeout and not-confirmed errors included, is taken as the broker's, so
 * the loop waits for the broker instead of hammering it.
 */
export function isBrokerLevel(err: unknown): boolean {
  return !(err instanceof UnroutableError || err instanceof ContractValidationError);
}

export interface OutboxRelayOptions {
  readonly store: OutboxStore;
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
    void this.options.store.releaseBackoff().catch(() => undefined);
    this.brokerBack.notify();
    this.rowsReady.notify();
  };

  constructor(private readonly options: OutboxRelayOptions) {
    this.log = options.logger?.child({ component: 'outbox-relay' });
    this.batchSize = options.batchSize ?? 100;
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
    const { outcome, lagSeconds } = await this.options.store.claimBatch(this.batchSize, (rows) =>
      this.publishAll(rows),
    );
    if (!outcome) return { claimed: 0, brokerFailures: 0 };
    const { published, failed } = outcome;
    // Counted only once the marks committed: a rolled-back batch is published again.
    this.stats.batches++;
    this.stats.published += published.length;
    this.stats.failed += failed.length;
    this.options.metrics?.published(published.length);
    for (const lag of lagSeconds) this.options.metrics?.outboxLag(lag);
    const first = failed[0];
    if (first) {
      this.log?.warn(
        {
          err: first.error,
          failed: failed.length,
          published: published.length,
          orderId: first.row.order_id,
          messageId: first.row.message_id,
        },
        'outbox publish failed; rows will be retried with backoff',
      );
    }
    return {
      claimed: published.length + failed.length,
      brokerFailures: failed.filter((f) => f.brokerLevel).length,
    };
  }

  private async publishAll(rows: readonly OutboxRow[]): Promise<PublishedBatch> {
    const results = await Promise.all(rows.map((row) => this.publishRow(row)));
    const batch: PublishedBatch = { published: [], failed: [] };
    rows.forEach((row, i) => {
      const r = results[i];
      if (r?.ok) batch.published.push(row.id);
      else if (r) {
        batch.failed.push({
          id: row.id,
          error: errorMessage(r.error),
          delayMs: this.backoff(row.attempts + 1),
          row,
          brokerLevel: r.brokerLevel,
        });
      }
    });
    return batch;
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
