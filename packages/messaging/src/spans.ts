import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Attributes, Context, Link, Span } from '@opentelemetry/api';
import { errorMessage } from './errors.js';

// Publish and consume spans, after the OpenTelemetry semantic conventions for messaging
// (https://opentelemetry.io/docs/specs/semconv/messaging/rabbitmq/). Without an SDK the
// API hands out non-recording spans: no allocation beyond the span object, no export.

const tracer = trace.getTracer('@notify/messaging');

export interface MessageAttributes {
  readonly exchange: string;
  readonly routingKey: string;
  readonly messageId: string | undefined;
  /** The order id. */
  readonly correlationId: string | undefined;
}

function messageAttributes(m: MessageAttributes): Attributes {
  return {
    'messaging.system': 'rabbitmq',
    'messaging.destination.name': m.exchange,
    'messaging.rabbitmq.destination.routing_key': m.routingKey,
    ...(m.messageId ? { 'messaging.message.id': m.messageId } : {}),
    ...(m.correlationId ? { 'messaging.message.conversation_id': m.correlationId } : {}),
  };
}

/**
 * A PRODUCER span for one publish, a child of `parent`. When the caller runs in another
 * trace (a webhook answered on behalf of a message's trace), that span is linked.
 */
export function startPublishSpan(m: MessageAttributes, parent: Context): Span {
  const active = trace.getSpan(context.active());
  const parentSpan = trace.getSpan(parent);
  const links: Link[] =
    active && parentSpan && active.spanContext().traceId !== parentSpan.spanContext().traceId
      ? [{ context: active.spanContext() }]
      : [];
  return tracer.startSpan(
    `publish ${m.exchange}`,
    {
      kind: SpanKind.PRODUCER,
      links,
      attributes: {
        ...messageAttributes(m),
        'messaging.operation.type': 'send',
        'messaging.operation.name': 'publish',
      },
    },
    parent,
  );
}

/** A CONSUMER span for handling one delivery from `queue`, a child of the message's publish span. */
export function startProcessSpan(queue: string, m: MessageAttributes, parent: Context): Span {
  return tracer.startSpan(
    `process ${queue}`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        ...messageAttributes(m),
        'messaging.operation.type': 'process',
        'messaging.operation.name': 'process',
        'messaging.consumer.group.name': queue,
      },
    },
    parent,
  );
}

/** Marks the span failed with the error, without its stack (messages may hold customer data). */
export function failSpan(span: Span, err: unknown): void {
  span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(err) });
  span.setAttribute('error.type', err instanceof Error ? err.name : 'Error');
}
