/**
 * What a handler says should become of the message it was given. The runner turns a
 * fate into broker actions (ack, a delayed retry, a dead letter); the handler never
 * touches the channel, so its decision can be tested without a broker.
 */
export type Fate =
  /** Done; also for a duplicate whose effect already happened. */
  | { readonly kind: 'ack' }
  /**
   * A transient failure: a delayed retry, bounded by the retry policy. The last
   * attempt dead-letters with 'max-attempts-exceeded' instead.
   */
  | { readonly kind: 'retry'; readonly reason: string }
  /** A permanent failure: to the dead-letter queue at once, reason and detail in its headers. */
  | { readonly kind: 'dead-letter'; readonly reason: string; readonly detail?: string }
  /**
   * A dependency (database, provider) is down and the message is not at fault. The
   * runner treats it as a retry for now; it is kept apart so that consumption can
   * pause for an outage instead of spending the message's attempts on it.
   */
  | { readonly kind: 'unavailable'; readonly dependency: string; readonly reason: string };

export type FateKind = Fate['kind'];

const ACK: Fate = Object.freeze({ kind: 'ack' });

export const Fates = {
  ack(): Fate {
    return ACK;
  },
  retry(reason: string): Fate {
    return { kind: 'retry', reason };
  },
  deadLetter(reason: string, detail?: string): Fate {
    return detail === undefined ? { kind: 'dead-letter', reason } : { kind: 'dead-letter', reason, detail };
  },
  unavailable(dependency: string, reason: string): Fate {
    return { kind: 'unavailable', dependency, reason };
  },
} as const;
