import { deliveryEvents, validate } from '@notify/contracts';
import type { Channel, Contract, Payload } from '@notify/contracts';
import { errorMessage } from '@notify/messaging';
import type { ConsumerObserver, Publisher } from '@notify/messaging';
import type { Logger } from 'pino';

export interface DeliveryEventsOptions {
  /** The channel whose queue the consumer runs: the events are `<channel>.retrying|dead_lettered`. */
  readonly channel: Channel;
  readonly publisher: Pick<Publisher, 'publish'>;
  readonly logger?: Logger;
  readonly now?: () => Date;
}

type Kind = 'retrying' | 'deadLettered';

/**
 * Tells the order's other readers that a delivery on this channel is being retried or
 * was dead-lettered: `<channel>.retrying` and `<channel>.dead_lettered` on order.events.
 * A message without an order id as correlation id has no order to tell about. The
 * events are informative: the message's fate is settled before they are published,
 * so one that cannot be published is logged and dropped.
 */
export function deliveryEventsObserver(options: DeliveryEventsOptions): ConsumerObserver {
  const { channel, publisher } = options;
  const now = options.now ?? (() => new Date());

  async function publish(
    kind: Kind,
    orderId: string | undefined,
    fields: { attempt: number; delayMs: number; reason: string } | { attempts: number; reason: string },
  ): Promise<void> {
    if (!orderId) return;
    // The two event contracts differ in payload; the union is checked at run time below.
    const contract: Contract = deliveryEvents[channel][kind];
    const payload = { orderId, occurredAt: now().toISOString(), channel, ...fields };
    if (!validate(contract, payload).ok) return; // e.g. a correlation id that is not an order id
    // One id per order, channel and attempt: republishing after a crash deduplicates.
    const attempt = 'attempt' in fields ? fields.attempt : fields.attempts;
    try {
      await publisher.publish(contract, payload as Payload<Contract>, {
        messageId: `${orderId}:${channel}:${kind}:${attempt}`,
        correlationId: orderId,
      });
    } catch (err) {
      options.logger?.warn({ err: errorMessage(err), orderId }, `could not publish ${kind} event`);
    }
  }

  return {
    onRetrying: (info) =>
      publish('retrying', info.correlationId, {
        attempt: info.attempt,
        delayMs: info.delayMs,
        reason: info.message.slice(0, 1000),
      }),
    onDeadLettered: (info) =>
      publish('deadLettered', info.correlationId, {
        attempts: info.attempts,
        reason: `${info.reason}: ${info.detail ?? info.message}`.slice(0, 1000),
      }),
  };
}
