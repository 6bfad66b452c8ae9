import { Fates } from '@notify/messaging';
import type { Fate } from '@notify/messaging';
import type { ShipmentOutcome } from './create-shipment.js';

/** What becomes of the `logistic` message once the shipment's outcome is known. */
export function shipmentFate(outcome: ShipmentOutcome): Fate {
  switch (outcome.kind) {
    case 'created':
    case 'duplicate':
      return Fates.ack();
    // No retry can make an order shippable: the rejection is announced and the message
    // parked with its code, for a replay once the rules change.
    case 'rejected':
      return Fates.deadLetter(`order cannot be shipped: ${outcome.rejection.reason}`, outcome.rejection.code);
  }
}
