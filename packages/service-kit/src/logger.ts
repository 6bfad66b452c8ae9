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
 * pino JSON with `service` on every line. Pretty output only when asked for
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
