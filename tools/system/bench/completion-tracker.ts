// Which accepted orders are complete: all five channels in a final state, as the order
// API's own records say (its notification_states, the source of GET /orders/:id), and
// when the last of them got there.
import type pg from 'pg';

/** The order API's final channel states (domain/order-status.ts, FINAL_CHANNEL_STATES). */
const FINAL_STATES = ['succeeded', 'failed', 'dead_lettered'];
/** Ids per query: the poll reads only orders still pending, by primary key. */
const CHUNK = 2_000;

export interface Completion {
  /** Wall-clock ms of the channel update that made the order complete. */
  readonly atMs: number;
  /** Every channel succeeded (rather than failed or dead-lettered). */
  readonly succeeded: boolean;
}

export class CompletionTracker {
  readonly accepted = new Map<string, number>();
  readonly completed = new Map<string, Completion>();
  private readonly pending = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> = Promise.resolve();
  private lastError: unknown;

  /** `schema`: the order API's schema (from the service catalogue). */
  constructor(
    private readonly pool: pg.Pool,
    private readonly schema: string,
    private readonly intervalMs: number,
  ) {}

  accept(id: string, atMs: number): void {
    this.accepted.set(id, atMs);
    this.pending.add(id);
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  start(): void {
    const tick = () => {
      this.polling = this.poll()
        .catch((err: unknown) => {
          this.lastError = err;
        })
        .finally(() => {
          if (this.timer) this.timer = setTimeout(tick, this.intervalMs);
        });
    };
    this.timer = setTimeout(tick, this.intervalMs);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.polling;
  }

  async poll(): Promise<void> {
    const ids = [...this.pending];
    for (let i = 0; i < ids.length; i += CHUNK) {
      const { rows } = await this.pool.query<{ order_id: string; done_ms: number; succeeded: boolean }>(
        `SELECT order_id, EXTRACT(EPOCH FROM max(updated_at)) * 1000 AS done_ms,
                bool_and(state = 'succeeded') AS succeeded
         FROM "${this.schema}".notification_states
         WHERE order_id = ANY($1::uuid[])
         GROUP BY order_id
         HAVING count(*) = 5 AND bool_and(state = ANY($2::text[]))`,
        [ids.slice(i, i + CHUNK), FINAL_STATES],
      );
      for (const r of rows) {
        this.pending.delete(r.order_id);
        this.completed.set(r.order_id, { atMs: Number(r.done_ms), succeeded: r.succeeded });
      }
    }
  }

  /** Resolves when every order in `ids` is complete; rejects after `timeoutMs`. */
  async waitFor(ids: readonly string[], timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const missing = ids.filter((id) => !this.completed.has(id));
      if (missing.length === 0) return;
      if (Date.now() > deadline) {
        throw new Error(
          `${missing.length} of ${ids.length} orders not complete after ${timeoutMs / 1000} s` +
            (this.lastError ? ` (last poll error: ${String(this.lastError)})` : ''),
        );
      }
      await new Promise((r) => setTimeout(r, this.intervalMs));
    }
  }
}
