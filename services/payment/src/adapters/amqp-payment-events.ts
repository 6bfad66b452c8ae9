import { events } from '@notify/contracts';
import type { Publisher } from '@notify/messaging';
import { outcomeEventOptions } from '@notify/service-kit';
import type { TraceMeta } from '@notify/service-kit';
import type { Payment, PaymentEvents } from '../authorize-payment.js';

/**
 * Outcome events on order.events. The message id is derived from the order and the
 * outcome, so an outcome announced again carries the same id and consumers de-duplicate it.
 */
export class AmqpPaymentEvents implements PaymentEvents {
  constructor(private readonly publisher: Publisher) {}

  async paymentDecided(p: Payment, trace: TraceMeta): Promise<void> {
    const common = {
      orderId: p.orderId,
      occurredAt: p.decidedAt.toISOString(),
      amount: p.amount,
      currency: p.currency,
      gateway: p.gateway,
    };
    if (p.status === 'authorized') {
      await this.publisher.publish(
        events.paymentAuthorized,
        { ...common, authorizationId: p.authorizationId },
        outcomeEventOptions(p.orderId, `${p.orderId}:${events.paymentAuthorized.routingKey}`, trace),
      );
    } else {
      await this.publisher.publish(
        events.paymentDeclined,
        { ...common, code: p.declineCode, reason: p.declineReason },
        outcomeEventOptions(p.orderId, `${p.orderId}:${events.paymentDeclined.routingKey}`, trace),
      );
    }
  }
}
