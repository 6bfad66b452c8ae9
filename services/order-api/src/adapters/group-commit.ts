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

  constructor(
    private readonly write: (batch: PendingWrite<T, R>[]) => Promise<void>,
    options: GroupCommitOptions = {},
  ) {
    this.maxBatch = options.maxBatch ?? 50;
    this.maxConcurrentWrites = options.maxConcurrentWrites ?? 4;
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
      void this.write(batch)
        // A write that throws instead of settling its items must not leave callers
        // waiting forever; items it already settled keep their outcome.
        .catch((err: unknown) => {
          for (const p of batch) p.reject(err);
        })
        .finally(() => {
          this.writing--;
          this.pump();
        });
    }
  }
}
