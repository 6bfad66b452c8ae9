import type { FraudMessage } from '@notify/contracts';
import { normalizeEmail, normalizeIp } from './customer-keys.js';
import type { FraudRules } from './fraud-rules.js';
import { historyWindows, scoreOrder } from './score-order.js';
import type { Assessment, HistoryCounts, HistoryWindows } from './score-order.js';

/** An assessment as stored: what the event is built from, on the first delivery and every later one. */
export interface StoredAssessment extends Assessment {
  readonly orderId: string;
  readonly assessedAt: string;
  readonly rulesVersion: string;
  readonly history: HistoryCounts;
}

/** The values an order is counted under in later orders' velocity windows. */
export interface VelocityKeys {
  readonly email: string;
  readonly phone: string;
  readonly ip: string | null;
}

export interface AssessmentRequest {
  readonly orderId: string;
  readonly messageId: string;
  readonly placedAt: string;
  readonly keys: VelocityKeys;
  readonly windows: HistoryWindows;
  readonly rulesVersion: string;
  readonly amount: number;
  readonly currency: string;
}

export interface AssessmentStore {
  find(orderId: string): Promise<StoredAssessment | undefined>;
  /**
   * Counts the order's history, scores it with `score`, and stores the assessment with
   * the order's own observation, atomically. Orders sharing a key are serialised, so of
   * two orders assessed at the same time exactly one counts the other. When the order
   * was already assessed, returns that assessment and stores nothing.
   */
  assessOnce(
    request: AssessmentRequest,
    score: (history: HistoryCounts) => Assessment,
  ): Promise<{ stored: StoredAssessment; created: boolean }>;
}

export interface AssessmentEvents {
  /** Publishes `fraud.assessed`; idempotent for the consumer (stable message id per order). */
  assessed(stored: StoredAssessment): Promise<void>;
}

export function velocityKeys(order: FraudMessage, rules: FraudRules): VelocityKeys {
  return {
    email: normalizeEmail(order.customer.email, rules.velocity.email.ignorePlusTag),
    phone: order.customer.phone,
    ip: order.metadata.ip ? normalizeIp(order.metadata.ip) : null,
  };
}

/**
 * The fraud check of one order. A redelivery finds the stored assessment and publishes
 * it again (the first attempt may have stopped between storing and publishing), so the
 * order is scored, and counted in anyone's history, once.
 */
export async function assessOrder(
  order: FraudMessage,
  messageId: string,
  deps: { store: AssessmentStore; events: AssessmentEvents; rules: FraudRules },
): Promise<{ stored: StoredAssessment; created: boolean }> {
  const { store, events, rules } = deps;
  const existing = await store.find(order.orderId);
  const outcome = existing
    ? { stored: existing, created: false }
    : await store.assessOnce(
        {
          orderId: order.orderId,
          messageId,
          placedAt: order.placedAt,
          keys: velocityKeys(order, rules),
          windows: historyWindows(rules),
          rulesVersion: rules.version,
          amount: order.amount,
          currency: order.currency,
        },
        (history) => scoreOrder(order, history, rules),
      );
  await events.assessed(outcome.stored);
  return outcome;
}
