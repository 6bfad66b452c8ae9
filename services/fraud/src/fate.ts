import { Fates } from '@notify/messaging';
import type { Fate } from '@notify/messaging';
import type { AssessmentOutcome } from './assess-order.js';

/**
 * What becomes of the `fraud` message once the assessment's outcome is known: always
 * done. A review or reject decision is an answer for the order API to act on, not a
 * failure of the message.
 */
export function assessmentFate(outcome: AssessmentOutcome): Fate {
  switch (outcome.kind) {
    case 'assessed':
    case 'duplicate':
      return Fates.ack();
  }
}
