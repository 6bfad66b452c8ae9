import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { DEFAULT_PAUSE_POLICY, pauseDelay } from './backoff.js';
import type { PausePolicy } from './backoff.js';
import { errorMessage } from './errors.js';

// A dependency outage is not the message's fault, so it must not spend the message's
// attempts, and giving the message back to the queue is no better: RabbitMQ 4.0 counts
// every return toward the delivery limit. So the consumer stops taking messages, keeps
// the ones the outage caught (unacknowledged, in the process), tries them again with
// backoff until one goes through, and then consumes again.

/** A dependency the work needs is down; the message is not at fault. */
export interface Outage {
  readonly dependency: string;
  readonly reason: string;
}

/** One try at what is left of settling a message: it went through, or an outage stopped it. */
export type Attempt<T> = () => Promise<AttemptResult<T>>;
export type AttemptResult<T> =
  | { readonly done: T }
  | { readonly outage: Outage; /** What to try next time: what is still left. */ readonly next: Attempt<T> };

export type ConsumerStatus =
  | { readonly state: 'consuming' }
  | {
      readonly state: 'paused';
      readonly dependency: string;
      readonly reason: string;
      readonly since: Date;
      /** Messages held for the outage. */
      readonly held: number;
    };

export interface OutagePauseOptions {
  /** Cancels the consumer (no new deliveries); what it holds stays held. */
  readonly stopConsuming: () => Promise<void>;
  readonly startConsuming: () => Promise<void>;
  readonly policy?: Partial<PausePolicy>;
  /** Waits out a backoff delay, or less once `signal` aborts (stop). */
  readonly wait?: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly random?: () => number;
  readonly logger?: Logger | undefined;
}

interface Held<T> {
  next: Attempt<T>;
  readonly handle: { readonly returned: boolean };
  readonly settle: (result: T | undefined) => void;
}

const CONSUMING: ConsumerStatus = Object.freeze({ state: 'consuming' });

/**
 * The pause state machine of a consumer. `hold` takes a message an outage stopped and
 * resolves once it went through (with its result) or is no longer ours to settle
 * (undefined: its channel closed, or the consumer stopped, and the broker has it back).
 */
export class OutagePause<T> {
  private readonly held: Held<T>[] = [];
  private readonly policy: PausePolicy;
  private readonly abort = new AbortController();
  private statusValue: ConsumerStatus = CONSUMING;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(private readonly options: OutagePauseOptions) {
    this.policy = { ...DEFAULT_PAUSE_POLICY, ...options.policy };
  }

  get status(): ConsumerStatus {
    return this.statusValue;
  }

  hold(outage: Outage, next: Attempt<T>, handle: { readonly returned: boolean }): Promise<T | undefined> {
    if (this.stopped) return Promise.resolve(undefined);
    return new Promise<T | undefined>((settle) => {
      this.held.push({ next, handle, settle });
      this.report(outage);
      if (!this.running) {
        this.options.logger?.warn({ ...outage }, 'dependency unavailable; pausing consumption');
        this.running = this.run().finally(() => {
          this.running = null;
        });
      }
    });
  }

  /** Stops trying: waits for a try under way, then lets go of every held message. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    await this.running;
    for (const h of this.held.splice(0)) h.settle(undefined);
  }

  private report(outage: Outage): void {
    const since = this.statusValue.state === 'paused' ? this.statusValue.since : new Date();
    this.statusValue = { state: 'paused', ...outage, since, held: this.held.length };
  }

  private async run(): Promise<void> {
    await this.options.stopConsuming();
    let round = 0;
    while (this.held.length > 0 && !this.stopped) {
      await this.wait(pauseDelay(this.policy, round, this.options.random ?? Math.random));
      if (this.stopped) return;
      round = (await this.tryHeld()) ? 0 : round + 1;
    }
    if (this.stopped) return;
    this.statusValue = CONSUMING;
    this.options.logger?.info('dependency back; consuming again');
    await this.options.startConsuming();
  }

  /**
   * Tries the held messages in turn until an outage stops one (it goes to the back, so
   * one message that keeps failing does not keep the others waiting). True when at least
   * one went through.
   */
  private async tryHeld(): Promise<boolean> {
    let progress = false;
    while (this.held.length > 0 && !this.stopped) {
      const h = this.held[0]!;
      if (h.handle.returned) {
        this.held.shift();
        h.settle(undefined);
        continue;
      }
      const result = await this.attempt(h.next);
      if ('outage' in result) {
        h.next = result.next;
        this.held.push(this.held.shift()!);
        this.report(result.outage);
        return progress;
      }
      this.held.shift();
      h.settle(result.done);
      progress = true;
      if (this.statusValue.state === 'paused')
        this.statusValue = { ...this.statusValue, held: this.held.length };
    }
    return progress;
  }

  private async attempt(next: Attempt<T>): Promise<AttemptResult<T>> {
    try {
      return await next();
    } catch (err) {
      // An attempt reports outages itself; a throw is unforeseen, and the message is
      // still held: keep it, and keep naming the dependency already down.
      const dependency = this.statusValue.state === 'paused' ? this.statusValue.dependency : 'unknown';
      return { outage: { dependency, reason: errorMessage(err) }, next };
    }
  }

  private async wait(ms: number): Promise<void> {
    const signal = this.abort.signal;
    if (this.options.wait) return this.options.wait(ms, signal);
    await sleep(ms, undefined, { signal }).catch(() => undefined);
  }
}
