import { context, isSpanContextValid, trace } from '@opentelemetry/api';
import pino from 'pino';
import type { Logger, LoggerOptions } from 'pino';

export type { Logger };

/** Paths never written to logs: credentials, tokens, card-like data. */
export const REDACT_PATHS = [
  'password',
  '*.password',
  'token',
  '*.token',
  'authToken',
  '*.authToken',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers["x-twilio-signature"]',
  'paymentMethodToken',
  '*.paymentMethodToken',
  'payload.paymentMethodToken',
];

/**
 * `trace_id` and `span_id` of the span active when a line is written (an HTTP request,
 * a message being handled), so a log line leads to its trace. Nothing without an
 * OpenTelemetry SDK: no span is ever active then.
 */
export function traceFields(): { trace_id?: string; span_id?: string } {
  const span = trace.getSpan(context.active());
  if (!span) return {};
  const sc = span.spanContext();
  return isSpanContextValid(sc) ? { trace_id: sc.traceId, span_id: sc.spanId } : {};
}

/**
 * pino JSON with `service` on every line, and the active span's trace ids (traceFields). Pretty output only when asked for
 * (LOG_PRETTY=1), so production and piped output stay machine-readable.
 */
export function createLogger(
  service: string,
  level = process.env.LOG_LEVEL ?? 'info',
  extra: LoggerOptions = {},
): Logger {
  const pretty = process.env.LOG_PRETTY === '1' || process.env.LOG_PRETTY === 'true';
  return pino({
    level,
    base: { service },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    mixin: traceFields,
    ...(pretty
      ? {
          transport: {
            target: 'pino-pretty',
            options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' },
          },
        }
      : {}),
    ...extra,
  });
}
