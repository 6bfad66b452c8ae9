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
  /** The stored assessments of these orders, by order id, in one query. */
  findMany(orderIds: readonly string[]): Promise<ReadonlyMap<string, StoredAssessment>>;
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
  /**
   * assessOnce for many orders in one transaction, in order (an order counts the ones
   * before it that share a key); one result per order. All or nothing.
   */
  assessAll(
    items: readonly { request: AssessmentRequest; score: (history: HistoryCounts) => Assessment }[],
  ): Promise<readonly { stored: StoredAssessment; created: boolean }[]>;
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
  const { repository } = deps;
  const existing = await repository.find(order.orderId);
  const result = existing
    ? { stored: existing, created: false }
    : await repository.assessOnce(requestOf(order, meta, deps.rules), scorer(order, deps.rules));
  return announce(result, meta, deps);
}

/** One message of a window and its delivery. */
export interface AssessmentMessage {
  readonly order: FraudMessage;
  readonly meta: DeliveryMeta;
}

/**
 * assessOrder for a window: the stored assessments in one query, the new ones scored and
 * stored in one transaction, then every assessment announced at once. Each message's
 * result is its own (an event the broker did not confirm fails that message only); a
 * database failure rejects the window before anything is announced.
 */
export async function assessOrders(
  messages: readonly AssessmentMessage[],
  deps: AssessOrderDeps,
): Promise<PromiseSettledResult<AssessmentOutcome>[]> {
  const { repository, rules } = deps;
  const existing = await repository.findMany(messages.map((m) => m.order.orderId));
  const fresh = messages.flatMap((m, i) => (existing.has(m.order.orderId) ? [] : [i]));
  const assessed = await repository.assessAll(
    fresh.map((i) => {
      const { order, meta } = messages[i]!;
      return { request: requestOf(order, meta, rules), score: scorer(order, rules) };
    }),
  );
  const results = new Map(fresh.map((i, k) => [i, assessed[k]!]));
  return Promise.allSettled(
    messages.map(({ order, meta }, i) => {
      const stored = existing.get(order.orderId);
      return announce(stored ? { stored, created: false } : results.get(i)!, meta, deps);
    }),
  );
}

function requestOf(order: FraudMessage, meta: DeliveryMeta, rules: FraudRules): AssessmentRequest {
  return {
    orderId: order.orderId,
    messageId: meta.messageId,
    placedAt: order.placedAt,
    keys: velocityKeys(order, rules),
    windows: historyWindows(rules),
    rulesVersion: rules.version,
    amount: order.amount,
    currency: order.currency,
  };
}

function scorer(order: FraudMessage, rules: FraudRules): (history: HistoryCounts) => Assessment {
  return (history) => scoreOrder(order, history, rules);
}

/** Publishes the assessment, counts a first one, and logs it. */
async function announce(
  { stored, created }: { stored: StoredAssessment; created: boolean },
  meta: DeliveryMeta,
  deps: AssessOrderDeps,
): Promise<AssessmentOutcome> {
  await deps.events.assessed(stored, meta);
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
