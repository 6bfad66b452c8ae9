import { randomBytes } from 'node:crypto';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/**
 * W3C trace context: a child of `parent` when one is given (same trace id, new span),
 * otherwise the root of a new trace.
 */
export function childTraceparent(parent?: string): string {
  const m = parent ? TRACEPARENT.exec(parent) : null;
  const traceId = m?.[1] ?? randomBytes(16).toString('hex');
  const flags = m?.[3] ?? '01';
  return `00-${traceId}-${randomBytes(8).toString('hex')}-${flags}`;
}

export function isTraceparent(v: unknown): v is string {
  return typeof v === 'string' && TRACEPARENT.test(v);
}
