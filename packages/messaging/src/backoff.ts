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
  return spread(base, policy.jitter, random);
}

function spread(base: number, jitter: number, random: () => number): number {
  const by = base * jitter;
  return Math.max(0, Math.round(base - by + random() * 2 * by));
}

/** How long a paused consumer waits before it tries the messages an outage holds again. */
export interface PausePolicy {
  readonly initialDelayMs: number;
  /** The delay doubles after every try that finds the dependency still down, up to this. */
  readonly maxDelayMs: number;
  /** Each delay is spread uniformly over +-jitter of itself, so replicas do not try in step. */
  readonly jitter: number;
}

export const DEFAULT_PAUSE_POLICY: PausePolicy = { initialDelayMs: 500, maxDelayMs: 30_000, jitter: 0.2 };

/** Delay before try `round` (0-based, counting tries that found the dependency down) of a pause. */
export function pauseDelay(policy: PausePolicy, round: number, random: () => number = Math.random): number {
  const base = Math.min(policy.initialDelayMs * 2 ** Math.min(round, 30), policy.maxDelayMs);
  return spread(base, policy.jitter, random);
}
