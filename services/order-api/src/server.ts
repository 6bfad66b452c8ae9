import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { fullTopology, orderEventsConsumer } from '@notify/contracts';
import { Broker, DeadLetterQueues, Publisher } from '@notify/messaging';
import type { TopologySpec } from '@notify/messaging';
import {
  createLogger,
  createPool,
  createRegistry,
  Gauge,
  migrate,
  RetentionSweeper,
} from '@notify/service-kit';
import type { Logger, Pool, RetentionRule } from '@notify/service-kit';
import { buildApp } from './app.js';
import { loadOrderApiConfig, SERVICE_NAME } from './config.js';
import type { OrderApiConfig } from './config.js';
import type { ApiInstance } from './http/api-instance.js';
import { createApiMetrics } from './metrics.js';
import { OutboxRelay } from './outbox/relay.js';
import { OutboxSignal } from './outbox/outbox-signal.js';
import { outboxNotifyChannel } from './adapters/order-repository.js';
import { StatusRepository } from './adapters/status-repository.js';
import { OrderChanges } from './status/order-changes.js';
import { createStatusConsumer } from './status/status-consumer.js';
import { setupConsole } from './console/console-setup.js';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations', import.meta.url));

/**
 * What the API declares on the broker: every exchange and each channel's queues, so a
 * message published before a consumer service ever started still waits in its queue.
 * The outcome-event queue belongs to the status consumer, which declares it itself.
 */
export function publisherTopology(): TopologySpec {
  const full = fullTopology();
  const own = new Set([
    orderEventsConsumer.queue.name,
    orderEventsConsumer.deadLetterQueue.name,
    ...orderEventsConsumer.retryQueues.map((q) => q.name),
  ]);
  return {
    exchanges: full.exchanges,
    queues: full.queues.filter((q) => !own.has(q.name)),
    bindings: full.bindings.filter((b) => !own.has(b.queue)),
  };
}

/**
 * What the API deletes as it ages: idempotency keys after their TTL (the order itself
 * stays), and published outbox rows stored longer ago than the retention. Outbox rows
 * are found through the primary key (ids grow with time), so the sweep adds no index to
 * the publish path; a row never published is never deleted.
 */
export function orderApiRetentionRules(
  config: Pick<OrderApiConfig, 'IDEMPOTENCY_KEY_TTL' | 'OUTBOX_RETENTION'>,
): RetentionRule[] {
  return [
    {
      name: 'idempotency_keys',
      table: 'idempotency_keys',
      olderThan: 'created_at < $1',
      maxAgeMs: config.IDEMPOTENCY_KEY_TTL,
    },
    {
      name: 'outbox_published',
      table: 'outbox',
      olderThan: `published_at IS NOT NULL
        AND id < (SELECT coalesce(min(id), 9223372036854775807) FROM outbox WHERE created_at >= $1)`,
      maxAgeMs: config.OUTBOX_RETENTION,
    },
  ];
}

export interface RunningOrderApi {
  readonly config: OrderApiConfig;
  readonly app: ApiInstance;
  readonly pool: Pool;
  readonly broker: Broker;
  readonly relay: OutboxRelay | null;
  /** Folds outcome events into channel states; null with STATUS_CONSUMER_ENABLED=false. */
  readonly statusConsumer: { readonly isConsuming: boolean } | null;
  readonly logger: Logger;
  /** The port actually bound (PORT=0 picks a free one). */
  readonly port: number;
  readonly url: string;
  /** Stops taking requests, finishes those in flight and the relay's current batch, then closes. */
  stop(): Promise<void>;
}

export async function startOrderApi(
  env: NodeJS.ProcessEnv = process.env,
  options: { logger?: Logger } = {},
): Promise<RunningOrderApi> {
  const config = loadOrderApiConfig(env);
  const logger = options.logger ?? createLogger(SERVICE_NAME, config.LOG_LEVEL);
  const schema = config.DATABASE_SCHEMA || SERVICE_NAME.replace(/-/g, '_');

  await migrate({ url: config.DATABASE_URL, schema, dir: MIGRATIONS_DIR, logger });
  const pool = createPool({
    url: config.DATABASE_URL,
    schema,
    max: config.DATABASE_POOL_MAX,
    applicationName: SERVICE_NAME,
    // Fail fast when the database is gone: the client gets a 503 and retries.
    connectionTimeoutMillis: 2_000,
  });
  const registry = createRegistry(SERVICE_NAME);
  const metrics = createApiMetrics(registry, pool, logger);
  const broker = await Broker.connect({
    url: config.AMQP_URL,
    connectionName: SERVICE_NAME,
    topology: publisherTopology(),
    logger,
  });
  const publisher = new Publisher(broker, { logger, timeoutMs: config.PUBLISH_TIMEOUT_MS });
  const relay = config.RELAY_ENABLED
    ? new OutboxRelay({
        pool,
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

  const changes = new OrderChanges({ databaseUrl: config.DATABASE_URL, schema, logger });
  new Gauge({
    name: 'order_event_streams',
    help: 'Open GET /orders/:id/events streams of this process',
    registers: [registry],
    collect() {
      this.set(changes.size);
    },
  });
  const statusConsumer = config.STATUS_CONSUMER_ENABLED
    ? createStatusConsumer({
        broker,
        publisher,
        statuses: new StatusRepository(pool),
        registry,
        logger,
        prefetch: config.STATUS_CONSUMER_PREFETCH,
      })
    : null;

  const retention = config.RETENTION_ENABLED
    ? new RetentionSweeper({
        pool,
        rules: orderApiRetentionRules(config),
        intervalMs: config.RETENTION_INTERVAL,
        logger,
        registry,
      })
    : null;

  let app: ApiInstance;
  try {
    const signal = new OutboxSignal(
      pool,
      outboxNotifyChannel(schema),
      relay?.instanceId ?? randomUUID(),
      relay ? () => relay.wake() : null,
      logger,
    );
    app = await buildApp({
      pool,
      outboxCommitted: () => signal.rowsCommitted(),
      broker,
      changes,
      deadLetters: new DeadLetterQueues(broker, publisher),
      logger,
      registry,
      metrics,
      console: await setupConsole({
        env,
        amqpUrl: config.AMQP_URL,
        pool,
        broker,
        changes,
        heartbeatMs: config.SSE_HEARTBEAT_MS,
        logger,
      }),
      options: {
        streams: { maxStreams: config.SSE_MAX_STREAMS, heartbeatMs: config.SSE_HEARTBEAT_MS },
        apiKeys: config.API_KEYS,
        rateLimitMax: config.RATE_LIMIT_MAX,
        rateLimitWindowMs: config.RATE_LIMIT_WINDOW,
        bodyLimitBytes: config.BODY_LIMIT_BYTES,
        trustProxy: config.TRUST_PROXY,
      },
    });
    changes.start();
    await statusConsumer?.start();
    await app.listen({ port: config.PORT, host: config.HOST });
  } catch (err) {
    await statusConsumer?.stop().catch(() => undefined);
    await changes.stop();
    await publisher.close();
    await broker.close();
    await pool.end();
    throw err;
  }
  relay?.start();
  retention?.start();
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.PORT;
  const host = config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST;
  logger.info({ port, relay: Boolean(relay) }, 'order API listening');

  let stopped: Promise<void> | null = null;
  return {
    config,
    app,
    pool,
    broker,
    relay,
    statusConsumer,
    logger,
    port,
    url: `http://${host}:${port}`,
    stop() {
      stopped ??= (async () => {
        await statusConsumer?.stop(config.SHUTDOWN_TIMEOUT_MS);
        await retention?.stop();
        await app.close();
        await changes.stop();
        await relay?.stop();
        await publisher.close();
        // A connection still declaring its topology is not closed by broker.close() (it
        // closes itself later, without an error listener), so let a pending attempt finish.
        if (!broker.isReady()) await broker.waitUntilConnected(2_000).catch(() => undefined);
        await broker.close();
        await pool.end();
      })();
      return stopped;
    },
  };
}
