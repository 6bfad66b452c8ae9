import type { Logger } from 'pino';
import { Counter } from 'prom-client';
import type { Registry } from 'prom-client';
import { assertIdentifier, withTransaction } from './db.js';
import type { Pool } from './db.js';

/** Rows of one table that may go once they are older than `maxAgeMs`. */
export interface RetentionRule {
  /** Names the rule in logs and in the `retention_rows_deleted_total` metric. */
  readonly name: string;
  /** The table, in the pool's schema. */
  readonly table: string;
  /**
   * The SQL condition a row must meet to be deleted, with `$1` the cutoff instant
   * (now minus `maxAgeMs`), for example `published_at < $1`. It should be served by an
   * index: it runs once per batch.
   */
  readonly olderThan: string;
  readonly maxAgeMs: number;
}

export interface RetentionOptions {
  /** Names the sweeper as a service task (start-service.ts); default `retention`. */
  readonly name?: string;
  readonly pool: Pool;
  readonly rules: readonly RetentionRule[];
  /** Time between sweeps; the first runs after a random part of it, so replicas spread out. */
  readonly intervalMs: number;
  /** Rows deleted per statement: short transactions, no long locks (default 1000). */
  readonly batchSize?: number;
  readonly logger?: Logger;
  readonly registry?: Registry;
}

/**
 * Deletes what a service no longer needs (answered idempotency keys, published outbox
 * rows, old velocity history) in small batches, on a timer. Each batch takes a
 * transaction-scoped advisory lock for its table, so replicas sweeping at once take turns
 * instead of racing over the same rows. A failed sweep (the database is away) is logged
 * and tried again at the next interval.
 */
export class RetentionSweeper {
  readonly name: string;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private readonly deleted: Counter<'rule'> | null;

  constructor(private readonly options: RetentionOptions) {
    this.name = options.name ?? 'retention';
    for (const rule of options.rules) {
      assertIdentifier(rule.table);
      if (!(rule.maxAgeMs > 0)) throw new Error(`retention rule ${rule.name}: maxAgeMs must be positive`);
    }
    this.deleted = options.registry
      ? new Counter({
          name: 'retention_rows_deleted_total',
          help: 'Rows removed by the retention sweeper, by rule',
          labelNames: ['rule'],
          registers: [options.registry],
        })
      : null;
  }

  start(): void {
    if (this.stopped || this.timer) return;
    this.schedule(Math.round(Math.random() * this.options.intervalMs));
  }

  /** Runs every rule to the end now; resolves with the rows deleted per rule. */
  async sweep(): Promise<Record<string, number>> {
    const result: Record<string, number> = {};
    for (const rule of this.options.rules) {
      if (this.stopped) break;
      result[rule.name] = await this.sweepRule(rule);
    }
    return result;
  }

  /** Stops the timer and waits for a sweep in progress to finish its current batch. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.sweep()
        .then((deleted) => {
          const total = Object.values(deleted).reduce((a, b) => a + b, 0);
          if (total > 0) this.options.logger?.info({ deleted }, 'retention sweep removed old rows');
        })
        .catch((err: unknown) =>
          this.options.logger?.warn({ err }, 'retention sweep failed; trying again at the next interval'),
        )
        .finally(() => {
          this.running = null;
          if (!this.stopped) this.schedule(this.options.intervalMs);
        });
    }, delayMs);
    this.timer.unref();
  }

  private async sweepRule(rule: RetentionRule): Promise<number> {
    const batch = this.options.batchSize ?? 1000;
    const cutoff = new Date(Date.now() - rule.maxAgeMs);
    let total = 0;
    for (;;) {
      const n = await withTransaction(this.options.pool, async (client) => {
        const lock = await client.query<{ ok: boolean }>(
          `SELECT pg_try_advisory_xact_lock(hashtext('retention:' || current_schema() || '.' || $1)) AS ok`,
          [rule.table],
        );
        // Another replica is sweeping this table right now; it will finish the job.
        if (!lock.rows[0]?.ok) return -1;
        const res = await client.query(
          `DELETE FROM ${rule.table} WHERE ctid = ANY(ARRAY(
             SELECT ctid FROM ${rule.table} WHERE ${rule.olderThan} LIMIT $2))`,
          [cutoff, batch],
        );
        return res.rowCount ?? 0;
      });
      if (n < 0) break;
      total += n;
      this.deleted?.inc({ rule: rule.name }, n);
      if (n < batch || this.stopped) break;
    }
    return total;
  }
}
