export type ItemPredicate<Item> = (item: Item) => boolean;

export const DEFAULT_WAIT_TIMEOUT_MS = 10_000;

export interface BoundedStoreOptions<Item> {
  /** How many items are kept; beyond it the oldest are dropped. */
  capacity: number;
  /** What get() looks an item up by. */
  idOf: (item: Item) => string;
  /** What waitFor's timeout error calls the items, for example "received mail". */
  itemName: string;
  /**
   * What callers and predicates are handed instead of the held item. Defaults to the item
   * itself; a store whose items change after they arrive hands out copies, so nobody can
   * corrupt the record through one.
   */
  copy?: (item: Item) => Item;
}

interface Waiter<Item> {
  predicate: ItemPredicate<Item>;
  resolve: (item: Item) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * Keeps the most recent items in arrival order and wakes up whoever waits for a match, so
 * a test can wait for what a stand-in received instead of polling for it.
 */
export class BoundedStore<Item> {
  private readonly items: Item[] = [];
  private readonly waiters = new Set<Waiter<Item>>();
  private closedReason: string | null = null;
  private readonly capacity: number;
  private readonly idOf: (item: Item) => string;
  private readonly itemName: string;
  private readonly copy: (item: Item) => Item;

  constructor(options: BoundedStoreOptions<Item>) {
    if (!Number.isInteger(options.capacity) || options.capacity < 1) {
      throw new RangeError(`capacity must be a positive integer, got ${options.capacity}`);
    }
    this.capacity = options.capacity;
    this.idOf = options.idOf;
    this.itemName = options.itemName;
    this.copy = options.copy ?? ((item) => item);
  }

  add(item: Item): void {
    this.items.push(item);
    if (this.items.length > this.capacity) {
      this.items.splice(0, this.items.length - this.capacity);
    }
    this.notify(item);
  }

  /** Oldest first. */
  list(): Item[] {
    return this.items.map((item) => this.copy(item));
  }

  get(id: string): Item | undefined {
    const item = this.held(id);
    return item === undefined ? undefined : this.copy(item);
  }

  clear(): void {
    this.items.length = 0;
  }

  /** Resolves with the first held or later arriving (or changed) item that matches. */
  waitFor(predicate: ItemPredicate<Item>, timeoutMs: number = DEFAULT_WAIT_TIMEOUT_MS): Promise<Item> {
    if (this.closedReason) return Promise.reject(new Error(this.closedReason));
    try {
      const existing = this.items.find((item) => predicate(this.copy(item)));
      if (existing !== undefined) return Promise.resolve(this.copy(existing));
    } catch (error) {
      return Promise.reject(asError(error));
    }
    return new Promise<Item>((resolve, reject) => {
      const waiter: Waiter<Item> = {
        predicate,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.settle(waiter);
          reject(
            new Error(
              `no ${this.itemName} matched within ${timeoutMs} ms (${this.items.length} message(s) held)`,
            ),
          );
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  /** Fails every pending waitFor, and later ones, so a test waiting for something that never comes ends. */
  close(reason: string): void {
    this.closedReason = reason;
    for (const waiter of [...this.waiters]) {
      this.settle(waiter);
      waiter.reject(new Error(reason));
    }
  }

  /** The held item itself, not a copy: for a store that changes its items in place. */
  protected held(id: string): Item | undefined {
    return this.items.find((item) => this.idOf(item) === id);
  }

  /** Offers an item that arrived or changed to every waiter. */
  protected notify(item: Item): void {
    for (const waiter of [...this.waiters]) {
      const offered = this.copy(item);
      let matches: boolean;
      try {
        matches = waiter.predicate(offered);
      } catch (error) {
        this.settle(waiter);
        waiter.reject(asError(error));
        continue;
      }
      if (matches) {
        this.settle(waiter);
        waiter.resolve(offered);
      }
    }
  }

  private settle(waiter: Waiter<Item>): void {
    clearTimeout(waiter.timer);
    this.waiters.delete(waiter);
  }
}
