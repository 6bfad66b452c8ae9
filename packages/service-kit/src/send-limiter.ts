import { setTimeout as sleep } from 'node:timers/promises';

export interface SendLimits {
  /** Requests to the provider in flight at once. */
  readonly concurrency: number;
  /** Requests started per second at most; 0 for no rate limit. */
  readonly perSecond: number;
}

/**
 * Keeps a provider's requests within what it allows: at most `concurrency` in flight,
 * and starts spaced at least 1/perSecond apart, so no second ever holds more than
 * `perSecond` of them (a provider counting sends per second never throttles us).
 * Callers beyond either limit wait their turn in order; nothing is dropped.
 */
export class SendLimiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  private nextStart = 0;
  private readonly interval: number;

  constructor(
    private readonly limits: SendLimits,
    private readonly clock: { now(): number; sleep(ms: number): Promise<void> } = {
      now: () => performance.now(),
      sleep: (ms) => sleep(ms),
    },
  ) {
    if (!Number.isInteger(limits.concurrency) || limits.concurrency < 1)
      throw new Error(`concurrency must be a positive integer, got ${limits.concurrency}`);
    if (!(limits.perSecond >= 0)) throw new Error(`perSecond must be 0 or more, got ${limits.perSecond}`);
    this.interval = limits.perSecond > 0 ? 1000 / limits.perSecond : 0;
  }

  /** Requests running now. */
  get inFlight(): number {
    return this.active;
  }

  async run<T>(request: () => Promise<T>): Promise<T> {
    await this.slot();
    try {
      await this.turn();
      return await request();
    } finally {
      this.release();
    }
  }

  private slot(): Promise<void> {
    if (this.active < this.limits.concurrency) {
      this.active++;
      return Promise.resolve();
    }
    // The slot is handed over by release(), which keeps the count.
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }

  private async turn(): Promise<void> {
    if (this.interval === 0) return;
    const now = this.clock.now();
    const start = Math.max(now, this.nextStart);
    this.nextStart = start + this.interval;
    if (start > now) await this.clock.sleep(start - now);
  }
}
