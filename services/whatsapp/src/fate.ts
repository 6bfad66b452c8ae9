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
    // Another delivery of the order is sending: this one finds its record when retried.
    case 'busy':
    case 'deferred':
      return Fates.retry(outcome.reason);
    case 'unreachable':
      return Fates.unavailable('twilio', outcome.reason);
    case 'rejected':
      return Fates.deadLetter(outcome.reason, outcome.detail);
  }
}
