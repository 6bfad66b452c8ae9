/** How far back a rate may look, and how long a sample is kept. */
export interface RateWindow {
  /** The rate compares the newest sample with the oldest one at most this old. */
  readonly windowMs: number;
  /** Samples closer together than this give no rate (too noisy). */
  readonly minSpanMs: number;
}

const MAX_SAMPLES = 120;
const DEFAULT_WINDOW: RateWindow = { windowMs: 30_000, minSpanMs: 1_000 };

/**
 * Per-second rates of monotonic counters from samples taken whenever someone looks.
 * A counter that went down (the process restarted) starts its history over.
 */
export class RateTracker {
  private readonly samples = new Map<string, { at: number; value: number }[]>();

  constructor(private readonly window: RateWindow = DEFAULT_WINDOW) {}

  /** Records `value` for `key` at `at` and returns the rate per second, or null without enough history. */
  record(key: string, at: number, value: number): number | null {
    const known = this.samples.get(key) ?? [];
    const newest = known.at(-1);
    const previous = newest && newest.value > value ? [] : known.filter((s) => s.at < at);
    const inWindow = previous.filter((s) => s.at >= at - this.window.windowMs);
    // With no look inside the window, the last one before it still anchors an average.
    const base = inWindow[0] ?? previous.at(-1);
    this.samples.set(key, [...inWindow, { at, value }].slice(-MAX_SAMPLES));
    if (!base || at - base.at < this.window.minSpanMs) return null;
    return ((value - base.value) * 1_000) / (at - base.at);
  }

  /** Drops a key's history (its counter is not available now). */
  forget(key: string): void {
    this.samples.delete(key);
  }
}
