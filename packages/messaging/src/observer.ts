import type { DeadLetterReason } from './settle.js';

/**
 * How a delivery ended: settled (ack, duplicate, retry, dead-letter), or `returned` when
 * the consumer let go of it unsettled (it stopped, or the channel closed, while an
 * outage held the message) and the broker has it back.
 */
export type Outcome = 'ack' | 'duplicate' | 'retry' | 'dead-letter' | 'returned';

/** The message a lifecycle event concerns. */
export interface ObservedMessage {
  readonly queue: string;
  readonly messageId: string | undefined;
  /** The order id, when the publisher set it. */
  readonly correlationId: string | undefined;
  readonly routingKey: string;
}

export interface RetryingInfo extends ObservedMessage {
  /** The attempt that failed. */
  readonly attempt: number;
  readonly delayMs: number;
  /** Why the attempt failed. */
  readonly message: string;
}

export interface DeadLetteredInfo extends ObservedMessage {
  /** Deliveries the message had, the last one included. */
  readonly attempts: number;
  readonly reason: DeadLetterReason;
  readonly message: string;
  /** Extra detail from the failing party (a provider's reply), when there is one. */
  readonly detail?: string;
}

/**
 * What the application learns from the consumer runner. The lifecycle hooks run once
 * the retry or dead letter is confirmed by the broker and before the message is acked,
 * and are awaited. A throw from onRetrying is logged and changes nothing; a throw from
 * onDeadLettered (the dead-lettered event not published) is an outage: the message
 * stays held, and the hook is called again, until it goes through.
 */
/**
 * A window that could not settle as one unit, so each of its messages was handled alone:
 * `check` when its idempotency query failed, `handler` when the window's handler threw or
 * answered the wrong number of fates. Nothing is lost or duplicated, but the window's
 * saving is; a steady stream of these is a bug (a SQL error, say) to look at.
 */
export interface WindowFailedInfo {
  readonly queue: string;
  readonly stage: 'check' | 'handler';
  readonly size: number;
  readonly reason: string;
}

export interface ConsumerObserver {
  onOutcome?(outcome: Outcome, info: { queue: string; durationMs: number; reason?: string }): void;
  onWindowFailed?(info: WindowFailedInfo): void;
  onRetrying?(info: RetryingInfo): void | Promise<void>;
  onDeadLettered?(info: DeadLetteredInfo): void | Promise<void>;
}

/**
 * One observer that tells each of the given ones, in order. Every one is told even when
 * an earlier one throws; the first error is rethrown after all were called.
 */
export function combineObservers(...observers: readonly ConsumerObserver[]): ConsumerObserver {
  async function tellAll(tell: (o: ConsumerObserver) => void | Promise<void>): Promise<void> {
    const failures: unknown[] = [];
    for (const o of observers) {
      try {
        await tell(o);
      } catch (err) {
        failures.push(err);
      }
    }
    if (failures.length > 0) throw failures[0];
  }
  return {
    onOutcome(outcome, info) {
      for (const o of observers) o.onOutcome?.(outcome, info);
    },
    onWindowFailed(info) {
      for (const o of observers) o.onWindowFailed?.(info);
    },
    onRetrying: (info) => tellAll((o) => o.onRetrying?.(info)),
    onDeadLettered: (info) => tellAll((o) => o.onDeadLettered?.(info)),
  };
}
