import type { Logger } from 'pino';

/**
 * What a use case may know about the delivery of the message it handles, the same in
 * every service. The consumer runner's message context has all of these fields, so a
 * handler passes its `ctx` as it is; use cases never see the runner itself.
 */
export interface DeliveryMeta {
  readonly messageId: string;
  /** 1 on the first delivery, incremented by every delayed retry. */
  readonly attempt: number;
  /**
   * Deliveries the runner allows this message (RETRY_MAX_ATTEMPTS, or the service's
   * default): on attempt === maxAttempts a transient failure is final.
   */
  readonly maxAttempts: number;
  /** The broker delivered it before and got no ack (a consumer died holding it). */
  readonly redelivered: boolean;
  /** When the publisher created the message (its AMQP timestamp), if it said. */
  readonly publishedAt: Date | undefined;
  /** W3C trace context, passed on to every event published for this message. */
  readonly traceparent: string | undefined;
  /** A child logger carrying the order id, message id and attempt. */
  readonly logger: Logger | undefined;
}

/** The part of the delivery an outcome event carries on. */
export type TraceMeta = Pick<DeliveryMeta, 'traceparent'>;

/** True on the last delivery the runner allows: a transient failure now is final. */
export function isLastAttempt(meta: Pick<DeliveryMeta, 'attempt' | 'maxAttempts'>): boolean {
  return meta.attempt >= meta.maxAttempts;
}

/**
 * How an outcome event about an order is published: its stable id (a re-publication after
 * a crash is recognisably the same event), the order as correlation id, and the trace of
 * the delivery that caused it.
 */
export function outcomeEventOptions(
  orderId: string,
  messageId: string,
  trace: TraceMeta,
): { messageId: string; correlationId: string; traceparent?: string } {
  return {
    messageId,
    correlationId: orderId,
    ...(trace.traceparent ? { traceparent: trace.traceparent } : {}),
  };
}
