import type { SandboxMessage } from './sandbox-message.js';

export type MessagePredicate = (message: SandboxMessage) => boolean;

interface Waiter {
  predicate: MessagePredicate;
  resolve: (message: SandboxMessage) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export const DEFAULT_WAIT_TIMEOUT_MS = 10_000;

/**
 * Holds the most recent messages in arrival order. Messages change after they arrive (status
 * changes, callback results), so waiters are checked again on every change, and callers only
 * ever get copies they cannot corrupt the record through.
 */
export class MessageStore {
  private readonly items: SandboxMessage[] = [];
  private readonly waiters = new Set<Waiter>();
  private closedReason: string | null = null;

  constructor(private readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    }
  }

  add(message: SandboxMessage): void {
    this.items.push(message);
    if (this.items.length > this.capacity) {
      this.items.splice(0, this.items.length - this.capacity);
    }
    this.notify(message);
  }

  /** Applies a change to a held message; a message dropped or cleared meanwhile is left alone. */
  update(sid: string, change: (message: SandboxMessage) => void): SandboxMessage | undefined {
    const message = this.items.find((item) => item.sid === sid);
    if (!message) return undefined;
    change(message);
    this.notify(message);
    return structuredClone(message);
  }

  /** Oldest first. */
  list(): SandboxMessage[] {
    return structuredClone(this.items);
  }

  get(sid: string): SandboxMessage | undefined {
    const message = this.items.find((item) => item.sid === sid);
    return message && structuredClone(message);
  }

  clear(): void {
    this.items.length = 0;
  }

  waitFor(predicate: MessagePredicate, timeoutMs: number = DEFAULT_WAIT_TIMEOUT_MS): Promise<SandboxMessage> {
    if (this.closedReason) return Promise.reject(new Error(this.closedReason));
    try {
      const existing = this.items.find((item) => predicate(structuredClone(item)));
      if (existing) return Promise.resolve(structuredClone(existing));
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    return new Promise<SandboxMessage>((resolve, reject) => {
      const waiter: Waiter = {
        predicate,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.settle(waiter);
          reject(
            new Error(`no message matched within ${timeoutMs} ms (${this.items.length} message(s) held)`),
          );
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  /** Fails every pending waitFor so a test waiting for something that never comes ends promptly. */
  close(reason: string): void {
    this.closedReason = reason;
    for (const waiter of [...this.waiters]) {
      this.settle(waiter);
      waiter.reject(new Error(reason));
    }
  }

  private notify(message: SandboxMessage): void {
    for (const waiter of [...this.waiters]) {
      const snapshot = structuredClone(message);
      let matches: boolean;
      try {
        matches = waiter.predicate(snapshot);
      } catch (error) {
        this.settle(waiter);
        waiter.reject(error instanceof Error ? error : new Error(String(error)));
        continue;
      }
      if (matches) {
        this.settle(waiter);
        waiter.resolve(snapshot);
      }
    }
  }

  private settle(waiter: Waiter): void {
    clearTimeout(waiter.timer);
    this.waiters.delete(waiter);
  }
}
