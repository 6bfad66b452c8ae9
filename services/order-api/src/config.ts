import { SERVICE_CATALOGUE } from '@notify/contracts';
import {
  bool,
  commonSpecs,
  ConfigError,
  duration,
  loadConfig,
  makeValidator,
  num,
} from '@notify/service-kit';

const SERVICE = SERVICE_CATALOGUE['order-api'];

export const SERVICE_NAME = SERVICE.name;

/** Comma-separated API keys; empty means no authentication. */
export const apiKeyList = makeValidator<string[]>((input: string) => {
  const keys = input
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  if (keys.some((k) => k.length < 16)) throw new Error('each key must be at least 16 characters');
  return keys;
});

export function loadOrderApiConfig(env: NodeJS.ProcessEnv = process.env) {
  const config = loadConfig(
    {
      ...commonSpecs({ defaultPort: SERVICE.port, database: 'notify' }),
      API_KEYS: apiKeyList({ default: [], desc: 'Comma-separated bearer keys; empty disables auth' }),
      ALLOW_ANONYMOUS: bool({
        default: false,
        desc: 'Allow starting in production without API_KEYS (only behind a gateway that authenticates)',
      }),
      RATE_LIMIT_MAX: num({ default: 6_000, desc: 'Requests per client per window; 0 disables' }),
      RATE_LIMIT_WINDOW: duration({ default: 60_000, desc: 'Rate limit window' }),
      BODY_LIMIT_BYTES: num({ default: 64 * 1024 }),
      TRUST_PROXY: bool({ default: false, desc: 'Take the client IP from X-Forwarded-For' }),
      DATABASE_POOL_MAX: num({ default: 20 }),
      RELAY_ENABLED: bool({ default: true, desc: 'Run the outbox relay in this process' }),
      OUTBOX_BATCH_SIZE: num({ default: 100 }),
      OUTBOX_CONCURRENCY: num({ default: 2, desc: 'Claim loops per relay' }),
      OUTBOX_POLL_INTERVAL_MS: num({ default: 5_000, desc: 'Safety poll when no NOTIFY arrives' }),
      OUTBOX_MAX_BACKOFF_MS: num({ default: 30_000 }),
      PUBLISH_TIMEOUT_MS: num({ default: 10_000 }),
      STATUS_CONSUMER_ENABLED: bool({
        default: true,
        desc: 'Consume outcome events (order-api.events) into channel states in this process',
      }),
      STATUS_CONSUMER_PREFETCH: num({ default: 32 }),
      PARK_DEAD_LETTERS: bool({
        default: true,
        desc: 'Move dead letters and unroutable messages out of the broker into the parked_letters table in this process',
      }),
      SSE_MAX_STREAMS: num({ default: 1_000, desc: 'Open GET /orders/:id/events streams per process' }),
      SSE_HEARTBEAT_MS: num({ default: 15_000, desc: 'Keep-alive comment interval on event streams' }),
      IDEMPOTENCY_KEY_TTL: duration({
        default: 86_400_000,
        desc: 'How long an Idempotency-Key and its answer are kept at least; after that the key may be used again',
      }),
      OUTBOX_RETENTION: duration({
        default: 7 * 86_400_000,
        desc: 'How long published outbox rows are kept (for inspection) before the sweeper removes them',
      }),
      RETENTION_INTERVAL: duration({ default: 600_000, desc: 'Time between retention sweeps' }),
      RETENTION_ENABLED: bool({ default: true, desc: 'Run the retention sweeper in this process' }),
    },
    env,
  );
  // An API that places orders and replays dead letters is never open by accident.
  if (config.NODE_ENV === 'production' && config.API_KEYS.length === 0 && !config.ALLOW_ANONYMOUS) {
    throw new ConfigError({
      API_KEYS: 'is required in production (or set ALLOW_ANONYMOUS=true behind an authenticating gateway)',
    });
  }
  return config;
}

export type OrderApiConfig = ReturnType<typeof loadOrderApiConfig>;
