import type { RetentionRule } from '@notify/service-kit';
import { idempotencyKeyRetentionRule } from './adapters/order-repository.js';
import type { OrderApiConfig } from './config.js';
import { publishedOutboxRetentionRule } from './outbox/outbox-store.js';

/** What the API deletes as it ages: answered idempotency keys and published outbox rows. */
export function orderApiRetentionRules(
  config: Pick<OrderApiConfig, 'IDEMPOTENCY_KEY_TTL' | 'OUTBOX_RETENTION'>,
): RetentionRule[] {
  return [
    idempotencyKeyRetentionRule(config.IDEMPOTENCY_KEY_TTL),
    publishedOutboxRetentionRule(config.OUTBOX_RETENTION),
  ];
}
