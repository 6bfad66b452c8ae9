import type { ReceivedMail } from './received-mail.js';

export type MailPredicate = (mail: ReceivedMail) => boolean;

interface Waiter {
  predicate: MailPredicate;
  resolve: (mail: ReceivedMail) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export const DEFAULT_WAIT_TIMEOUT_MS = 10_000;

/** Keeps the most recent mail in arrival order and wakes up whoever waits for a match. */
export class MailStore {
  private readonly items: ReceivedMail[] = [];
  private readonly waiters = new Set<Waiter>();
  private closedReason: string | null = null;

  constructor(private readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    }
  }

  add(mail: ReceivedMail): void {
    this.items.push(mail);
    if (this.items.length > this.capacity) {
      this.items.splice(0, this.items.length - this.capacity);
    }
    for (const waiter of [...this.waiters]) {
      let matches: boolean;
      try {
        matches = waiter.predicate(mail);
      } catch (error) {
        this.settle(waiter);
        waiter.reject(error instanceof Error ? error : new Error(String(error)));
        continue;
      }
      if (matches) {
        this.settle(waiter);
        waiter.resolve(mail);
      }
    }
  }

  /** Oldest first. */
  list(): ReceivedMail[] {
    return [...this.items];
  }

  get(id: string): ReceivedMail | undefined {
    return this.items.find((mail) => mail.id === id);
  }

  clear(): void {
    this.items.length = 0;
  }

  waitFor(predicate: MailPredicate, timeoutMs: number = DEFAULT_WAIT_TIMEOUT_MS): Promise<ReceivedMail> {
    if (this.closedReason) return Promise.reject(new Error(this.closedReason));
    try {
      const existing = this.items.find(predicate);
      if (existing) return Promise.resolve(existing);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    return new Promise<ReceivedMail>((resolve, reject) => {
      const waiter: Waiter = {
        predicate,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.settle(waiter);
          reject(
            new Error(
              `no received mail matched within ${timeoutMs} ms (${this.items.length} message(s) held)`,
            ),
          );
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  /** Fails every pending waitFor so a test that forgot to send mail ends instead of hanging. */
  close(reason: string): void {
    this.closedReason = reason;
    for (const waiter of [...this.waiters]) {
      this.settle(waiter);
      waiter.reject(new Error(reason));
    }
  }

  private settle(waiter: Waiter): void {
    clearTimeout(waiter.timer);
    this.waiters.delete(waiter);
  }
}
