/** One submitted item, waiting for the batch it is written with to settle it. */
export interface PendingWrite<T, R> {
  readonly item: T;
  readonly resolve: (result: R) => void;
  readonly reject: (err: unknown) => void;
}

export interface GroupCommitOptions {
  /** Items written by one batch at most. */
  readonly maxBatch?: number;
  /** Batches in flight at once; items arriving meanwhile wait and form the next batch. */
  readonly maxConcurrentWrites?: number;
  /**
   * When a write of several items throws an error this accepts, each item it left
   * unsettled is written again on its own, so one item that spoils a batch (text the
   * database refuses, a constraint it breaks) fails alone instead of failing its
   * neighbours. Not for failures every item would meet again (the database is away).
   */
  readonly retryAlone?: (err: unknown) => boolean;
}

/**
 * Group commit done by the application: the first item goes out at once, and items
 * that arrive while writes are in flight are handed to the next write together, so
 * under load many items share one round trip and one commit while a lone item never
 * waits. `write` settles every item of its batch, each with its own outcome.
 */
export class GroupCommit<T, R> {
  private readonly queue: PendingWrite<T, R>[] = [];
  private writing = 0;
  private readonly maxBatch: number;
  private readonly maxConcurrentWrites: number;
  private readonly retryAlone: (err: unknown) => boolean;

  constructor(
    private readonly write: (batch: PendingWrite<T, R>[]) => Promise<void>,
    options: GroupCommitOptions = {},
  ) {
    this.maxBatch = options.maxBatch ?? 50;
    this.maxConcurrentWrites = options.maxConcurrentWrites ?? 4;
    this.retryAlone = options.retryAlone ?? (() => false);
  }

  submit(item: T): Promise<R> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.writing < this.maxConcurrentWrites && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.writing++;
      void this.settle(batch).finally(() => {
        this.writing--;
        this.pump();
      });
    }
  }

  /** Writes a batch and settles every item, whatever the write does. */
  private async settle(batch: PendingWrite<T, R>[]): Promise<void> {
    const unsettled = new Set<PendingWrite<T, R>>();
    const tracked = batch.map((p) => {
      const t: PendingWrite<T, R> = {
        item: p.item,
        resolve: (r) => unsettled.delete(t) && p.resolve(r),
        reject: (e) => unsettled.delete(t) && p.reject(e),
      };
      unsettled.add(t);
      return t;
    });
    try {
      await this.write(tracked);
      for (const p of unsettled) p.reject(new Error('the write did not settle this item'));
    } catch (err) {
      // A write that throws instead of settling its items must not leave callers
      // waiting forever; items it already settled keep their outcome.
      const left = [...unsettled];
      if (batch.length > 1 && this.retryAlone(err)) {
        await Promise.all(left.map((p) => this.settle([p])));
      } else {
        for (const p of left) p.reject(err);
      }
    }
  }
}
