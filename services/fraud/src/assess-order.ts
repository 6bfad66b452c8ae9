import type { FraudMessage } from '@notify/contracts';
import type { DeliveryMeta, TraceMeta } from '@notify/service-kit';
import { normalizeEmail, normalizeIp } from './customer-keys.js';
import type { FraudRules } from './fraud-rules.js';
import { historyWindows, scoreOrder } from './score-order.js';
import type { Assessment, Decision, HistoryCounts, HistoryWindows } from './score-order.js';

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

/** The assessments and the velocity history, in the service's own schema. */
export interface AssessmentRepository {
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
  assessed(stored: StoredAssessment, trace: TraceMeta): Promise<void>;
}

export interface AssessOrderDeps {
  readonly repository: AssessmentRepository;
  readonly events: AssessmentEvents;
  readonly rules: FraudRules;
  /** Told of each first assessment's decision (the decisions metric). */
  readonly decisions?: { assessed(decision: Decision): void };
}

export type AssessmentOutcome =
  /** Scored now, stored and announced. */
  | { readonly kind: 'assessed'; readonly assessment: StoredAssessment }
  /** Assessed by an earlier delivery: announced again, not scored or counted again. */
  | { readonly kind: 'duplicate'; readonly assessment: StoredAssessment };

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
 * order is scored, and counted in anyone's history, once. Every outcome acks the message:
 * the decision travels in the event, and only the unexpected throws.
 */
export async function assessOrder(
  order: FraudMessage,
  meta: DeliveryMeta,
  deps: AssessOrderDeps,
): Promise<AssessmentOutcome> {
  const { repository, events, rules } = deps;
  const existing = await repository.find(order.orderId);
  const { stored, created } = existing
    ? { stored: existing, created: false }
    : await repository.assessOnce(
        {
          orderId: order.orderId,
          messageId: meta.messageId,
          placedAt: order.placedAt,
          keys: velocityKeys(order, rules),
          windows: historyWindows(rules),
          rulesVersion: rules.version,
          amount: order.amount,
          currency: order.currency,
        },
        (history) => scoreOrder(order, history, rules),
      );
  await events.assessed(stored, meta);
  if (created) deps.decisions?.assessed(stored.decision);
  meta.logger?.info(
    {
      score: stored.score,
      decision: stored.decision,
      rules: stored.rules.map((r) => r.id),
      rulesVersion: stored.rulesVersion,
      duplicate: !created,
    },
    created ? 'order assessed' : 'order already assessed; assessment re-published',
  );
  return { kind: created ? 'assessed' : 'duplicate', assessment: stored };
}
