import type { BoundedStore, ItemPredicate } from './bounded-store.js';

/** A stand-in's misbehaviour: set replaces all of it, get returns it with defaults filled in. */
export interface BehaviourState<Behaviour, Resolved> {
  get(): Resolved;
  set(behaviour: Behaviour): void;
}

/** What tests drive every stand-in through, next to its own addresses. */
export interface StandInControls<Item, Behaviour, Resolved> {
  /** Every held message, oldest first. */
  messages(): Item[];
  /**
   * Resolves with the first held message that matches, now or when one arrives or changes;
   * rejects after timeoutMs (default 10 s), or when the stand-in closes.
   */
  waitFor(predicate: ItemPredicate<Item>, timeoutMs?: number): Promise<Item>;
  /** Delivery attempts received, including those refused or failed: proof that a client retried. */
  attempts(): number;
  /** Forgets every held message and resets the attempt count. Behaviour stays as set. */
  clear(): void;
  /** Replaces the whole behaviour; fields left out go back to their defaults. */
  setBehaviour(behaviour: Behaviour): void;
  behaviour(): Resolved;
  close(): Promise<void>;
}

/** The messages a stand-in holds, how it misbehaves, and how many attempts it has seen. */
export class StandInState<Item, Behaviour, Resolved> {
  private attemptCount = 0;

  constructor(
    private readonly store: BoundedStore<Item>,
    private readonly behaviourState: BehaviourState<Behaviour, Resolved>,
  ) {}

  countAttempt(): void {
    this.attemptCount += 1;
  }

  attempts(): number {
    return this.attemptCount;
  }

  messages(): Item[] {
    return this.store.list();
  }

  waitFor(predicate: ItemPredicate<Item>, timeoutMs?: number): Promise<Item> {
    return this.store.waitFor(predicate, timeoutMs);
  }

  clear(): void {
    this.store.clear();
    this.attemptCount = 0;
  }

  behaviour(): Resolved {
    return this.behaviourState.get();
  }

  setBehaviour(behaviour: Behaviour): void {
    this.behaviourState.set(behaviour);
  }

  /**
   * The controls a stand-in's start function returns. close runs `stop` once; every call,
   * including those made while it runs, gets the same promise.
   */
  controls(stop: () => Promise<void>): StandInControls<Item, Behaviour, Resolved> {
    let closing: Promise<void> | undefined;
    return {
      messages: () => this.messages(),
      waitFor: (predicate, timeoutMs) => this.waitFor(predicate, timeoutMs),
      attempts: () => this.attempts(),
      clear: () => this.clear(),
      setBehaviour: (behaviour) => this.setBehaviour(behaviour),
      behaviour: () => this.behaviour(),
      close: () => (closing ??= stop()),
    };
  }
}
