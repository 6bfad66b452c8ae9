import { events } from '@notify/contracts';
import type { Publisher } from '@notify/messaging';
import { outcomeEventOptions } from '@notify/service-kit';
import type { TraceMeta } from '@notify/service-kit';
import type { AssessmentEvents, StoredAssessment } from '../assess-order.js';

/** The event's message id: the same on every publish of an order's assessment, so consumers de-duplicate. */
export const assessedMessageId = (orderId: string) => `${orderId}:fraud.assessed`;

/** `fraud.assessed` on order.events, built only from the stored assessment so every re-publish is identical. */
export class AmqpAssessmentEvents implements AssessmentEvents {
  constructor(private readonly publisher: Publisher) {}

  async assessed(stored: StoredAssessment, trace: TraceMeta): Promise<void> {
    await this.publisher.publish(
      events.fraudAssessed,
      {
        orderId: stored.orderId,
        occurredAt: stored.assessedAt,
        score: stored.score,
        decision: stored.decision,
        rules: stored.rules.map((r) => ({ id: r.id, points: r.points, detail: r.detail })),
      },
      outcomeEventOptions(stored.orderId, assessedMessageId(stored.orderId), trace),
    );
  }
}
