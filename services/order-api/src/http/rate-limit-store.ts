import { Redis } from 'ioredis';
import type { Logger } from 'pino';

/** Where @fastify/rate-limit keeps its counters when they are shared: a Redis and a key prefix. */
export interface SharedRateLimitStore {
  readonly redis: Redis;
  readonly nameSpace: string;
}

/**
 * A Redis connection for the rate limit, so every replica counts against one limit. It
 * fails fast rather than queueing: a command while Redis is away errs at once, and the
 * plugin (skipOnError) lets the request through instead of making orders wait on a
 * counter. The outage is logged once, and its end once.
 */
export async function connectRateLimitStore(options: {
  readonly url: string;
  readonly nameSpace: string;
  readonly logger: Logger;
  /** How long the start waits for a first connection before going on without it. */
  readonly connectWaitMs?: number;
}): Promise<SharedRateLimitStore> {
  const log = options.logger.child({ component: 'rate-limit-store' });
  const redis = new Redis(options.url, {
    connectionName: 'order-api-rate-limit',
    connectTimeout: 500,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    // Reconnect with a capped backoff, forever: the limit comes back with Redis.
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  });
  let down = false;
  redis.on('error', (err: Error) => {
    if (down) return;
    down = true;
    // The message only: the URL (and its password) is never logged.
    log.warn(
      { reason: err.message },
      'rate limit store unreachable: requests are not limited until it is back',
    );
  });
  redis.on('ready', () => {
    if (!down) return;
    down = false;
    log.info('rate limit store reachable again');
  });
  const ready = new Promise<void>((resolve) => {
    if (redis.status === 'ready') resolve();
    else redis.once('ready', () => resolve());
  });
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    ready,
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, options.connectWaitMs ?? 2_000);
    }),
  ]);
  clearTimeout(timer);
  return { redis, nameSpace: options.nameSpace };
}

/** Closes the connection; one that never connected is dropped at once. */
export async function closeRateLimitStore(store: SharedRateLimitStore): Promise<void> {
  if (store.redis.status === 'ready') await store.redis.quit();
  else store.redis.disconnect();
}
