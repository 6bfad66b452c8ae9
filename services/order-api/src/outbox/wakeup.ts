/**
 * A level-triggered wake-up for polling loops: a loop notes `generation` before doing
 * its work and then waits with it, so a notify that arrived meanwhile is not lost.
 */
export class Wakeup {
  private gen = 0;
  private readonly waiters = new Set<() => void>();

  get generation(): number {
    return this.gen;
  }

  notify(): void {
    this.gen++;
    for (const wake of [...this.waiters]) wake();
  }

  /**
   * Wakes one waiter. Loops that are busy also see the new generation and look once
   * more instead of sleeping, so nothing is missed, but idle loops are not all sent
   * after the same few rows.
   */
  notifyOne(): void {
    this.gen++;
    const first = this.waiters.values().next();
    if (!first.done) first.value();
  }

  /** Resolves on the first notify after `since`, or after `timeoutMs`. */
  wait(timeoutMs: number, since: number): Promise<void> {
    if (this.gen !== since) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.waiters.add(done);
    });
  }
}
