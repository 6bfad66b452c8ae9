import { Fates } from '@notify/messaging';
import type { Fate } from '@notify/messaging';
import type { ConfirmationOutcome } from './send-order-confirmation.js';

/** What becomes of the `email` message once its confirmation's outcome is known. */
export function confirmationFate(outcome: ConfirmationOutcome): Fate {
  switch (outcome.kind) {
    case 'sent':
    case 'already-sent':
    case 'skipped':
      return Fates.ack();
    case 'busy':
      return Fates.retry(outcome.reason);
    // A final deferral is a retry too: on the last attempt the runner dead-letters it as
    // max-attempts-exceeded, which is what happened to the message.
    case 'deferred':
      return Fates.retry(outcome.reason);
    // No answer from the server: pause consuming until it answers (not ready meanwhile).
    case 'unreachable':
      return Fates.unavailable('smtp', outcome.reason);
    case 'rejected':
      return Fates.deadLetter(outcome.reason, outcome.detail);
  }
}
