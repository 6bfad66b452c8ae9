import type { Logger } from 'pino';
import type { OrderChanges } from '../status/order-changes.js';
import type { OrderSummary, OrderSummaries } from './order-summaries.js';

export interface FeedSubscriber {
  /** An order changed (or was placed); this is its summary now. */
  order(summary: OrderSummary): void;
  /** Changes may have been missed (the LISTEN session came back, or too many at once): read the list again. */
  resync(): void;
}

/** A NOTIFY payload on `<schema>_order_changes`: one order id, or `new:` and the ids of new orders. */
export function orderIdsOf(payload: string): string[] {
  const ids = payload.startsWith('new:') ? payload.slice(4).split(',') : [payload];
  return ids.map((id) => id.trim()).filter(Boolean);
}

/**
 * Every changed order, for the console's live streams. One watcher on the process's
 * order-change notifications (only while a console stream is open), changes collected
 * for a moment and read in one query, and each summary sent to every open stream: the
 * database cost does not grow with the number of operators watching.
 */
export class ConsoleFeed {
  private readonly subscribers = new Set<FeedSubscriber>();
  private readonly pending = new Set<string>();
  private unwatch: (() => void) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private reading = false;
  private readonly maxPending: number;
  private readonly delayMs: number;

  constructor(
    private readonly deps: {
      changes: Pick<OrderChanges, 'watchAll'>;
      summaries: Pick<OrderSummaries, 'byIds'>;
      logger?: Logger;
      /** Changed orders waiting to be read at most; past that the streams are told to resync. */
      maxPending?: number;
      /** How long notifications are collected before one read. */
      delayMs?: number;
    },
  ) {
    this.maxPending = deps.maxPending ?? 500;
    this.delayMs = deps.delayMs ?? 50;
  }

  get size(): number {
    return this.subscribers.size;
  }

  subscribe(subscriber: FeedSubscriber): () => void {
    this.subscribers.add(subscriber);
    this.unwatch ??= this.deps.changes.watchAll((payload) => this.onNotify(payload));
    return () => {
      if (!this.subscribers.delete(subscriber) || this.subscribers.size > 0) return;
      this.unwatch?.();
      this.unwatch = null;
      this.pending.clear();
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
    };
  }

  /** Stops reading; the subscribers stay (their streams end on their own). */
  close(): void {
    this.unwatch?.();
    this.unwatch = null;
    this.pending.clear();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private onNotify(payload: string | null): void {
    if (payload === null) {
      this.pending.clear();
      this.broadcastResync();
      return;
    }
    for (const id of orderIdsOf(payload)) this.pending.add(id);
    if (this.pending.size > this.maxPending) {
      this.pending.clear();
      this.broadcastResync();
      return;
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.reading || this.pending.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.read();
    }, this.delayMs);
  }

  private async read(): Promise<void> {
    this.reading = true;
    const ids = [...this.pending].slice(0, 200);
    for (const id of ids) this.pending.delete(id);
    try {
      const summaries = await this.deps.summaries.byIds(ids);
      for (const s of summaries) for (const sub of [...this.subscribers]) sub.order(s);
    } catch (err) {
      this.deps.logger?.warn({ err }, 'could not read changed orders for the console; asking it to resync');
      this.broadcastResync();
    } finally {
      this.reading = false;
      if (this.unwatch) this.schedule();
    }
  }

  private broadcastResync(): void {
    for (const sub of [...this.subscribers]) sub.resync();
  }
}
