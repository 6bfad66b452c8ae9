import type { Logger } from 'pino';
import { OutboxListener } from '../outbox/outbox-listener.js';

/** The NOTIFY channel on which migration 002's trigger announces changed orders of a schema. */
export function orderChangesChannel(schema: string): string {
  return `${schema}_order_changes`;
}

/**
 * Tells the clients following an order (SSE streams of this process) that it changed.
 * One LISTEN session per process, whichever replica or relay made the change. When
 * that session comes back after a loss, every follower is told to look again, since
 * notifications sent meanwhile are gone.
 */
export class OrderChanges {
  private readonly followers = new Map<string, Set<() => void>>();
  /** Told of every notification (the console's live list); null when notifications may have been lost. */
  private readonly watchers = new Set<(payload: string | null) => void>();
  private readonly listener: OutboxListener;
  private count = 0;

  constructor(options: { databaseUrl: string; schema: string; logger?: Logger }) {
    this.listener = new OutboxListener({
      databaseUrl: options.databaseUrl,
      channel: orderChangesChannel(options.schema),
      applicationName: 'order-api-order-changes',
      onNotify: (orderId) => this.notify(orderId),
      onListening: () => {
        for (const orderId of this.followers.keys()) this.notify(orderId);
        for (const fn of [...this.watchers]) fn(null);
      },
      ...(options.logger ? { logger: options.logger.child({ component: 'order-changes' }) } : {}),
    });
  }

  /** Followers across all orders. */
  get size(): number {
    return this.count;
  }

  get listening(): boolean {
    return this.listener.listening;
  }

  start(): void {
    this.listener.start();
  }

  stop(): Promise<void> {
    return this.listener.stop();
  }

  /** Calls `onChange` whenever the order may have changed; returns the unsubscribe function. */
  follow(orderId: string, onChange: () => void): () => void {
    let set = this.followers.get(orderId);
    if (!set) this.followers.set(orderId, (set = new Set()));
    const fn = () => onChange();
    set.add(fn);
    this.count++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.count--;
      set.delete(fn);
      if (set.size === 0) this.followers.delete(orderId);
    };
  }

  /** Calls `onAny` with every notification's payload; returns the unsubscribe function. */
  watchAll(onAny: (payload: string | null) => void): () => void {
    const fn = (payload: string | null) => onAny(payload);
    this.watchers.add(fn);
    return () => void this.watchers.delete(fn);
  }

  private notify(orderId: string) {
    for (const fn of [...this.watchers]) fn(orderId);
    const set = this.followers.get(orderId);
    if (set) for (const fn of [...set]) fn();
  }
}
