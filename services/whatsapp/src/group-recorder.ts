/**
 * Group commit for the records of accepted sends: a write starts at once when none is in
 * flight, and whatever arrives meanwhile goes together in the next one. A window's sends
 * finish at different times (Twilio answers each in its own time), so their records take as
 * few transactions as that timing allows, and none waits for a neighbour's send.
 *
 * When a shared write fails, each of its items is written again alone (`writeAlone`, which
 * may retry), outside the queue: an item the database refuses cannot fail or hold up the
 * others, and later items do not wait for its retries.
 */
export class GroupRecorder<I, O> {
  private queue: { item: I; resolve: (o: O) => void; reject: (err: unknown) => void }[] = [];
  private writing = false;

  constructor(
    private readonly writeAll: (items: readonly I[]) => Promise<readonly O[]>,
    private readonly writeAlone: (item: I) => Promise<O>,
  ) {}

  write(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.writing) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.writing = true;
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      let results: readonly O[] | undefined;
      try {
        results = await this.writeAll(batch.map((b) => b.item));
        if (results.length !== batch.length) results = undefined;
      } catch {
        results = undefined;
      }
      if (results) {
        const done = results;
        batch.forEach((b, i) => b.resolve(done[i] as O));
      } else {
        for (const b of batch) this.writeAlone(b.item).then(b.resolve, b.reject);
      }
    }
    this.writing = false;
  }
}
