import type { DeliveryMeta } from '../delivery-meta.js';

/** The first of five deliveries of `messageId`, as a use case under test receives it. */
export function testDeliveryMeta(
  overrides: Partial<DeliveryMeta> & Pick<DeliveryMeta, 'messageId'>,
): DeliveryMeta {
  return {
    attempt: 1,
    maxAttempts: 5,
    redelivered: false,
    publishedAt: undefined,
    traceparent: undefined,
    logger: undefined,
    ...overrides,
  };
}
