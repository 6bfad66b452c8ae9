import { randomBytes } from 'node:crypto';
import { context, ROOT_CONTEXT, trace, TraceFlags } from '@opentelemetry/api';
import type { Context, Span, SpanContext } from '@opentelemetry/api';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const INVALID_TRACE = '0'.repeat(32);
const INVALID_SPAN = '0'.repeat(16);

/**
 * W3C trace context: a child of `parent` when one is given (same trace id, new span),
 * otherwise the root of a new trace. Used when no OpenTelemetry SDK records spans.
 */
export function childTraceparent(parent?: string): string {
  const m = parent ? TRACEPARENT.exec(parent) : null;
  const traceId = m?.[1] ?? randomBytes(16).toString('hex');
  const flags = m?.[3] ?? '01';
  return `00-${traceId}-${randomBytes(8).toString('hex')}-${flags}`;
}

export function isTraceparent(v: unknown): v is string {
  if (typeof v !== 'string') return false;
  const m = TRACEPARENT.exec(v);
  return !!m && m[1] !== INVALID_TRACE && m[2] !== INVALID_SPAN;
}

/** The `traceparent` header value of a span context. */
export function traceparentOf(sc: SpanContext): string {
  return `00-${sc.traceId}-${sc.spanId}-0${(sc.traceFlags & TraceFlags.SAMPLED).toString(16)}`;
}

/** An OpenTelemetry context whose (remote) parent is the given traceparent; the root context when it is none. */
export function contextOfTraceparent(traceparent: string | undefined, base: Context = ROOT_CONTEXT): Context {
  if (!isTraceparent(traceparent)) return base;
  const [, traceId, spanId, flags] = TRACEPARENT.exec(traceparent) as unknown as [
    string,
    string,
    string,
    string,
  ];
  return trace.setSpanContext(base, { traceId, spanId, traceFlags: parseInt(flags, 16), isRemote: true });
}

/** The traceparent of the span active now, when an SDK records it; undefined otherwise. */
export function activeTraceparent(): string | undefined {
  const span = trace.getSpan(context.active());
  return span?.isRecording() ? traceparentOf(span.spanContext()) : undefined;
}

/**
 * What a message carries on: the span's context when an SDK records it, else a child of
 * `parent` made up here, so trace ids flow through the system with or without an SDK.
 */
export function propagatedTraceparent(span: Span, parent: string | undefined): string {
  return span.isRecording() ? traceparentOf(span.spanContext()) : childTraceparent(parent);
}
