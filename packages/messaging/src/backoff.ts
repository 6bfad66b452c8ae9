export interface RetryPolicy {
  /** Total deliveries allowed, the first one included. */
  readonly maxAttempts: number;
  /** Delay before retry n (1-based) is delaysMs[n-1]; the last entry repeats. */
  readonly delaysMs: readonly number[];
  /** Each delay is spread uniformly over +-jitter of itself, so retries of a burst do not align. */
  readonly jitter: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 6,
  delaysMs: [1_000, 5_000, 25_000, 120_000, 600_000],
  jitter: 0.2,
};

/** Delay before the retry that follows failed attempt `attempt` (1-based). */
export function retryDelay(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const list = policy.delaysMs;
  const base = list[Math.min(attempt, list.length) - 1] ?? list[list.length - 1] ?? 1000;
  const spread = base * policy.jitter;
  return Math.max(0, Math.round(base - spread + random() * 2 * spread));
}
