import { Fates } from '@notify/messaging';
import type { Fate } from '@notify/messaging';
import type { WhatsappOutcome } from './send-order-whatsapp.js';

/** What becomes of the `whatsapp` message once the send's outcome is known. */
export function whatsappFate(outcome: WhatsappOutcome): Fate {
  switch (outcome.kind) {
    case 'sent':
    case 'duplicate':
    case 'skipped':
      return Fates.ack();
    case 'deferred':
      return Fates.retry(outcome.reason);
    case 'unreachable':
      return Fates.unavailable('twilio', outcome.reason);
    case 'rejected':
      return Fates.deadLetter(outcome.reason, outcome.detail);
  }
}
