import { Fates } from '@notify/messaging';
import type { Fate } from '@notify/messaging';
import type { PaymentOutcome } from './authorize-payment.js';

/** What becomes of the `payment` message once the authorisation's outcome is known. */
export function paymentFate(outcome: PaymentOutcome): Fate {
  switch (outcome.kind) {
    // A decline is a decided payment like an authorisation: announced, and done.
    case 'authorized':
    case 'declined':
    case 'duplicate':
      return Fates.ack();
    case 'gateway-error':
      // A retry sends the same idempotency key, so it cannot charge twice.
      if (outcome.transient) return Fates.retry(outcome.error);
      return Fates.deadLetter(`payment gateway refused the request: ${outcome.error}`, outcome.code);
  }
}
