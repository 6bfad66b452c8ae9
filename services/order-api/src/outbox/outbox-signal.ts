import type { Logger } from 'pino';
import type { OutboxStore } from './outbox-store.js';

/**
 * Tells relays that outbox rows were committed. The relay of this process is woken
 * directly; relays of other replicas through a NOTIFY sent after the commit, coalesced
 * so that at most one is in flight: a burst of orders costs one or two notifications.
 *
 * The NOTIFY is deliberately not part of the order's own transaction: PostgreSQL
 * serialises the commits of all transactions that notify (a database-wide lock held
 * through the WAL flush), which would turn group commit off exactly under load. If the
 * process dies between the commit and the NOTIFY, the relays' safety poll finds the rows.
 */
export class OutboxSignal {
  private inFlight = false;
  private pending = false;

  /**
   * @param sender carried as the NOTIFY payload; the relay of this process ignores
   *   notifications with its own id, since it was already woken directly.
   */
  constructor(
    private readonly store: OutboxStore,
    private readonly channel: string,
    private readonly sender: string,
    private readonly wakeLocal: (() => void) | null,
    private readonly logger?: Logger,
  ) {}

  rowsCommitted(): void {
    this.wakeLocal?.();
    if (this.inFlight) {
      this.pending = true;
      return;
    }
    this.send();
  }

  private send(): void {
    this.inFlight = true;
    this.pending = false;
    this.store
      .notify(this.channel, this.sender)
      .catch((err: unknown) => this.logger?.warn({ err: (err as Error).message }, 'outbox NOTIFY failed'))
      .finally(() => {
        this.inFlight = false;
        if (this.pending) this.send();
      });
  }
}
