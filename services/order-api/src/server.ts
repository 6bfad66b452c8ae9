import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { orderEventsConsumer, SERVICE_CATALOGUE } from '@notify/contracts';
import type { Broker } from '@notify/messaging';
import { httpTimeouts, RetentionSweeper, startService } from '@notify/service-kit';
import type {
  Logger,
  Pool,
  ServiceDefinition,
  ServiceParts,
  ServiceTask,
  StartOptions,
} from '@notify/service-kit';
import type { FastifyInstance } from 'fastify';
import { StatusRepository } from './adapters/status-repository.js';
import { PreferenceRepository } from './adapters/preference-repository.js';
import { buildApp } from './app.js';
import { PreferencePropagation } from './preferences/preference-propagation.js';
import { createParkMetrics, parkDrains } from './dead-letters/dead-letter-park.js';
import { ParkedLetters } from './dead-letters/parked-letters.js';
import { loadOrderApiConfig } from './config.js';
import type { OrderApiConfig } from './config.js';
import type { ApiInstance } from './http/api-instance.js';
import { createApiMetrics, registerStreamGauge } from './metrics.js';
import { closeRateLimitStore, connectRateLimitStore } from './http/rate-limit-store.js';
import { OutboxSignal } from './outbox/outbox-signal.js';
import { outboxNotifyChannel, OutboxStore } from './outbox/outbox-store.js';
import { OutboxRelay } from './outbox/relay.js';
import { publisherTopology } from './publisher-topology.js';
import { orderApiRetentionRules } from './retention-rules.js';
import { OrderChanges } from './status/order-changes.js';
import { loadConsoleConfig } from './console/console-config.js';
import type { ConsoleConfig } from './console/console-config.js';
import { setupConsole } from './console/console-setup.js';
import { statusConsumer } from './status/status-consumer.js';
import { eventOwnership, resolveChannelOwners } from './status/channel-owners.js';

/** The virtual host an AMQP URL names (`/` when its path is empty). */
export function amqpVhost(amqpUrl: string): string {
  return decodeURIComponent(new URL(amqpUrl).pathname.replace(/^\//, '')) || '/';
}

export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations', import.meta.url));

interface OrderApiParts extends ServiceParts {
  readonly app: ApiInstance;
  readonly relay: OutboxRelay | null;
}

/** The API's settings with the operator console's (src/console/console-config.ts). */
type OrderApiRunConfig = OrderApiConfig & { readonly console: ConsoleConfig };

/** The order API as service-kit's composition root runs it. */
export const orderApiService: ServiceDefinition<OrderApiRunConfig, OrderApiParts> = {
  service: SERVICE_CATALOGUE['order-api'],
  migrationsDir: MIGRATIONS_DIR,
  config: (env) => ({ ...loadOrderApiConfig(env), console: loadConsoleConfig(env) }),
  // Fail fast when the database is gone: the client gets a 503 and retries.
  database: (config) => ({ poolMax: config.DATABASE_POOL_MAX, connectionTimeoutMs: 2_000 }),
  broker: (config) => ({ topology: publisherTopology(), publishTimeoutMs: config.PUBLISH_TIMEOUT_MS }),
  // With the broker away, orders are still stored and published from the outbox later.
  readiness: { reportOnly: ['broker', 'consumer'] },
  async setup({ config, common, schema, pool, broker, publisher, registry, logger, readiness }) {
    const outbox = new OutboxStore(pool);
    const metrics = createApiMetrics(registry, outbox, logger);
    const relay = config.RELAY_ENABLED
      ? new OutboxRelay({
          store: outbox,
          publisher,
          broker,
          databaseUrl: config.DATABASE_URL,
          schema,
          logger,
          metrics: metrics.relay,
          batchSize: config.OUTBOX_BATCH_SIZE,
          concurrency: config.OUTBOX_CONCURRENCY,
          pollIntervalMs: config.OUTBOX_POLL_INTERVAL_MS,
          maxBackoffMs: config.OUTBOX_MAX_BACKOFF_MS,
          publishTimeoutMs: config.PUBLISH_TIMEOUT_MS,
        })
      : null;
    const signal = new OutboxSignal(
      outbox,
      outboxNotifyChannel(schema),
      relay?.instanceId ?? randomUUID(),
      relay ? () => relay.wake() : null,
      logger,
    );
    const changes = new OrderChanges({ databaseUrl: config.DATABASE_URL, schema, logger });
    registerStreamGauge(registry, () => changes.size);
    const retention = config.RETENTION_ENABLED
      ? new RetentionSweeper({
          pool,
          rules: orderApiRetentionRules(config),
          intervalMs: config.RETENTION_INTERVAL,
          logger,
          registry,
        })
      : null;
    const statuses = new StatusRepository(pool);
    const letters = new ParkedLetters(pool, config.PARKED_LETTERS_MAX);
    const parkMetrics = createParkMetrics(registry, letters, logger);

    const preferences = new PreferenceRepository(pool);
    const propagation = new PreferencePropagation(
      preferences,
      publisher,
      logger,
      config.PREFERENCES_REPUBLISH_INTERVAL,
    );
    const rateLimitStore =
      config.REDIS_URL && config.RATE_LIMIT_MAX > 0
        ? await connectRateLimitStore({
            url: config.REDIS_URL,
            nameSpace: config.RATE_LIMIT_REDIS_PREFIX,
            logger,
          })
        : null;
    const app = await buildApp({
      preferences: { preferences, propagation, unsubscribeSecret: config.UNSUBSCRIBE_SECRET },
      pool,
      outboxCommitted: () => signal.rowsCommitted(),
      changes,
      publisher,
      logger,
      metrics,
      console: await setupConsole({
        // Asked in-process: the operations listener is another port, maybe not reachable from here.
        self: { readiness: () => readiness.report(), metrics: () => registry.metrics() },
        config: config.console,
        amqpUrl: config.AMQP_URL,
        pool,
        broker,
        changes,
        heartbeatMs: config.SSE_HEARTBEAT_MS,
        logger,
      }),
      options: {
        streams: {
          maxStreams: config.SSE_MAX_STREAMS,
          maxStreamsPerClient: config.SSE_MAX_STREAMS_PER_CLIENT,
          heartbeatMs: config.SSE_HEARTBEAT_MS,
        },
        clients: config.clients,
        rateLimitMax: config.RATE_LIMIT_MAX,
        rateLimitWindowMs: config.RATE_LIMIT_WINDOW,
        ...(rateLimitStore ? { rateLimitStore } : {}),
        bodyLimitBytes: config.BODY_LIMIT_BYTES,
        trustProxy: config.TRUST_PROXY,
        timeouts: httpTimeouts(common),
        vhost: amqpVhost(config.AMQP_URL),
      },
    });
    const tasks: ServiceTask[] = [
      { name: 'order changes', start: () => changes.start(), stop: () => changes.stop() },
      {
        name: 'preference propagation',
        start: async () => propagation.start(),
        stop: () => propagation.stop(),
      },
    ];
    if (relay) tasks.push({ name: 'outbox relay', start: () => relay.start(), stop: () => relay.stop() });
    if (retention)
      tasks.push({ name: 'retention', start: () => retention.start(), stop: () => retention.stop() });
    return {
      app,
      relay,
      tasks,
      ...(rateLimitStore ? { close: () => closeRateLimitStore(rateLimitStore) } : {}),
      consumers: [
        ...(config.STATUS_CONSUMER_ENABLED
          ? [
              statusConsumer(
                statuses,
                config.STATUS_CONSUMER_PREFETCH,
                eventOwnership(resolveChannelOwners(config.CHANNEL_OWNERS, broker.user), registry),
              ),
            ]
          : []),
        ...(config.PARK_DEAD_LETTERS ? parkDrains({ letters, metrics: parkMetrics }) : []),
      ],
    };
  },
};

export interface RunningOrderApi {
  readonly config: OrderApiConfig;
  readonly app: ApiInstance;
  /** The operations listener: /healthz, /readyz, /metrics (OPS_PORT, not the public port). */
  readonly ops: FastifyInstance;
  readonly pool: Pool;
  readonly broker: Broker;
  readonly relay: OutboxRelay | null;
  /** Folds outcome events into channel states; null with STATUS_CONSUMER_ENABLED=false. */
  readonly statusConsumer: { readonly isConsuming: boolean } | null;
  readonly logger: Logger;
  /** The port actually bound (PORT=0 picks a free one). */
  readonly port: number;
  readonly url: string;
  readonly opsPort: number;
  readonly opsUrl: string;
  /** Stops taking requests, finishes those in flight and the relay's current batch, then closes. */
  stop(): Promise<void>;
}

export async function startOrderApi(
  env: NodeJS.ProcessEnv = process.env,
  options: StartOptions = {},
): Promise<RunningOrderApi> {
  const running = await startService(orderApiService, env, options);
  const { infra, parts } = running;
  return {
    config: infra.config,
    app: parts.app,
    ops: running.ops,
    pool: infra.pool,
    broker: infra.broker,
    relay: parts.relay,
    statusConsumer: running.consumers.find((c) => c.queue === orderEventsConsumer.queue.name) ?? null,
    logger: infra.logger,
    port: running.port,
    url: running.url,
    opsPort: running.opsPort,
    opsUrl: running.opsUrl,
    stop: () => running.stop(),
  };
}
