import type { Contract } from '@notify/contracts';
import type { ConsumeMessage } from 'amqplib';
import type { Fate } from './fate.js';
import type { DeliveryHandle } from './queue-subscription.js';
import type { Delivery, MessageContext } from './settle.js';

/**
 * Window mode: the deliveries the broker hands over together (up to the prefetch window)
 * are settled as one unit, so the work each message costs alone (a transaction, a
 * round trip per row, a confirm wait per event, an ack frame) is paid once per window.
 * Every message keeps its own fate: the handler answers one fate per delivery, and a
 * window that fails as a whole fails no message (each is then handled alone).
 */
export interface WindowOptions<C extends Contract> {
  /** Most deliveries in one window; default half the prefetch, so one window settles while the next fills. */
  readonly size?: number;
  /**
   * Handles the window's valid, not yet processed deliveries as one unit (one
   * transaction, multi-row writes, its outcome events published together) and returns
   * one fate per delivery, in order (nothing meaning ack). A throw, or an answer of the
   * wrong length, settles nothing: every delivery is then handled alone by the
   * consumer's per-message handler, so one bad message cannot fail its neighbours. It must
   * therefore leave no partial effect another try cannot recognise (commit before publishing).
   */
  readonly handle: (deliveries: readonly Delivery<C>[]) => Promise<readonly (Fate | void)[]>;
  /**
   * The idempotency check for the whole window in one query: the message ids whose effect
   * already happened (acked as duplicates). A throw is an outage of the store it reads,
   * and each delivery is then handled alone (its own check pauses the consumer).
   */
  readonly alreadyProcessed?: (ctxs: readonly MessageContext[]) => Promise<ReadonlySet<string>>;
}

/** One delivery waiting for its window, and how to tell it that it is settled. */
export interface Pending {
  readonly msg: ConsumeMessage;
  readonly handle: DeliveryHandle;
}

/**
 * Gathers deliveries into windows: a window closes when it is full or when the event
 * loop has handed over everything that arrived together (the broker's frames read in one
 * turn), so a lone message waits for nothing. Each `add` resolves once its window settled.
 */
export class WindowCollector {
  private open: Pending[] = [];
  private settles: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  private scheduled = false;

  constructor(
    private readonly size: number,
    private readonly onWindow: (window: readonly Pending[]) => Promise<void>,
  ) {
    if (!Number.isInteger(size) || size < 1)
      throw new Error(`window size must be a positive integer, got ${size}`);
  }

  add(msg: ConsumeMessage, handle: DeliveryHandle): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.open.push({ msg, handle });
      this.settles.push({ resolve, reject });
      if (this.open.length >= this.size) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    if (this.open.length === 0) return;
    const window = this.open;
    const settles = this.settles;
    this.open = [];
    this.settles = [];
    this.onWindow(window).then(
      () => {
        for (const s of settles) s.resolve();
      },
      (err: unknown) => {
        for (const s of settles) s.reject(err);
      },
    );
  }
}
