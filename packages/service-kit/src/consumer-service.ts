import { channelConsumers, EXCHANGES, notifications, orderEventsConsumer } from '@notify/contracts';
import type { Channel } from '@notify/contracts';
import { Broker, combineObservers, Consumer, Publisher } from '@notify/messaging';
import type { Delivery, MessageContext, RetryPolicy } from '@notify/messaging';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { commonSpecs, loadConfig, retryFromEnv } from './config.js';
import { createPool, migrate, pingDatabase } from './db.js';
import type { Pool } from './db.js';
import { deliveryEventsObserver } from './delivery-events.js';
import { createLogger } from './logger.js';
import { consumerMetrics, createRegistry } from './metrics.js';
import { createOpsServer } from './ops-server.js';
import type { ReadinessChecks } from './ops-server.js';

export type CommonConfig = ReturnType<typeof loadCommon>;

function loadCommon(name: string, defaultPort: number, env: NodeJS.ProcessEnv) {
  return loadConfig(commonSpecs({ defaultPort, database: 'notify' }), env);
}

export interface ServiceInfra<Cfg> {
  readonly name: string;
  readonly common: CommonConfig;
  readonly config: Cfg;
  readonly logger: Logger;
  readonly pool: Pool;
  readonly schema: string;
  readonly broker: Broker;
  readonly publisher: Publisher;
  readonly registry: Registry;
}

type ChannelContract<Ch extends Channel> = (typeof notifications)[Ch];

export interface ServiceParts<Ch extends Channel> {
  /** Does the work for one message. Throws RetryableError / PermanentError to decide its fate. */
  readonly handle: (delivery: Delivery<ChannelContract<Ch>>) => Promise<void>;
  /** Idempotency hook: true when this message's effect is already recorded. */
  readonly alreadyProcessed?: (ctx: MessageContext) => Promise<boolean>;
  /** Extra HTTP routes on the service's port (webhooks). */
  readonly routes?: (app: FastifyInstance) => void | Promise<void>;
  readonly checks?: ReadinessChecks;
  /** Closes adapters (SMTP pools, HTTP clients) after the consumer stopped. */
  readonly close?: () => Promise<void>;
}

export interface ConsumerServiceDefinition<Ch extends Channel, Cfg> {
  /** Service name: logger `service`, connection name, default schema. */
  readonly name: string;
  readonly channel: Ch;
  readonly defaultPort: number;
  /** Folder of SQL migrations (node-pg-migrate format), applied to the service's schema on start. */
  readonly migrationsDir?: string;
  readonly retry?: Partial<RetryPolicy>;
  /** Reads and validates the service's own variables; throw ConfigError to refuse to start. */
  readonly config: (env: NodeJS.ProcessEnv, common: CommonConfig) => Cfg;
  readonly setup: (infra: ServiceInfra<Cfg>) => Promise<ServiceParts<Ch>>;
}

export interface RunningService<Cfg> {
  readonly infra: ServiceInfra<Cfg>;
  readonly app: FastifyInstance;
  readonly consumer: Consumer<ChannelContract<Channel>>;
  /** The HTTP port actually bound (useful with PORT=0). */
  readonly port: number;
  /** Resolves once the broker is connected and the consumer attached to its queue. */
  ready(timeoutMs?: number): Promise<void>;
  /** Stops taking messages, waits for in-flight ones, closes HTTP, broker and database. */
  stop(): Promise<void>;
}

/**
 * Wires a consumer service: config, logger, database and migrations, broker with
 * recovery, publisher, consumer runner with metrics, and the health/metrics server.
 * Everything the five services have in common lives here; their main.ts stays wiring.
 */
export async function startConsumerService<Ch extends Channel, Cfg>(
  def: ConsumerServiceDefinition<Ch, Cfg>,
  env: NodeJS.ProcessEnv = process.env,
  options: { logger?: Logger } = {},
): Promise<RunningService<Cfg>> {
  const common = loadCommon(def.name, def.defaultPort, env);
  const config = def.config(env, common);
  const retry = { ...def.retry, ...retryFromEnv(common) };
  const logger = options.logger ?? createLogger(def.name, common.LOG_LEVEL);
  const schema = common.DATABASE_SCHEMA || def.name.replace(/-/g, '_');

  if (def.migrationsDir) await migrate({ url: common.DATABASE_URL, schema, dir: def.migrationsDir, logger });
  const pool = createPool({ url: common.DATABASE_URL, schema, applicationName: def.name });
  // Readiness pings on a connection of their own: handlers holding every pooled
  // connection (waiting on a row or advisory lock of a busy order) is load, not an
  // unreachable database, and must not turn the service unready.
  const healthPool = createPool({
    url: common.DATABASE_URL,
    schema,
    max: 1,
    applicationName: `${def.name}-health`,
    connectionTimeoutMillis: 2_000,
  });
  const registry = createRegistry(def.name);
  const broker = await Broker.connect({ url: common.AMQP_URL, connectionName: def.name, logger });
  const publisher = new Publisher(broker, { logger });
  const infra: ServiceInfra<Cfg> = {
    name: def.name,
    common,
    config,
    logger,
    pool,
    schema,
    broker,
    publisher,
    registry,
  };

  let parts: ServiceParts<Ch>;
  try {
    parts = await def.setup(infra);
  } catch (err) {
    await broker.close();
    await pool.end();
    await healthPool.end();
    throw err;
  }

  const contract = notifications[def.channel] as ChannelContract<Channel>;
  const consumer = new Consumer(broker, {
    topology: channelConsumers[def.channel],
    contracts: [contract],
    publisher,
    prefetch: common.PREFETCH,
    retry,
    handler: parts.handle as (d: Delivery<ChannelContract<Channel>>) => Promise<void>,
    ...(parts.alreadyProcessed ? { alreadyProcessed: parts.alreadyProcessed } : {}),
    observer: combineObservers(
      consumerMetrics(registry),
      deliveryEventsObserver({ channel: def.channel, publisher, logger }),
    ),
    logger,
  });

  const app = createOpsServer({
    logger,
    registry,
    checks: {
      broker: () => broker.isReady(),
      consumer: () => consumer.isConsuming,
      database: () => pingDatabase(healthPool),
      ...parts.checks,
    },
  });
  if (parts.routes) await parts.routes(app);
  await app.listen({ port: common.PORT, host: common.HOST });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : common.PORT;

  // Outcome events are published mandatory; declaring the order API's event queue here
  // too means they are never returned just because the API started later than us.
  await broker.addTopology({
    exchanges: Object.values(EXCHANGES),
    queues: [orderEventsConsumer.queue],
    bindings: orderEventsConsumer.bindings.filter(
      (b) => b.exchange === EXCHANGES.events.name && b.queue === orderEventsConsumer.queue.name,
    ),
  });
  await consumer.start();
  logger.info({ port, queue: channelConsumers[def.channel].queue.name }, `${def.name} service started`);

  let stopped: Promise<void> | null = null;
  const stop = () => {
    stopped ??= (async () => {
      await consumer.stop(common.SHUTDOWN_TIMEOUT_MS);
      await app.close();
      await parts.close?.().catch(() => undefined);
      await publisher.close();
      await broker.close();
      await pool.end();
      await healthPool.end();
    })();
    return stopped;
  };
  const ready = async (timeoutMs = 30_000) => {
    await broker.waitUntilConnected(timeoutMs);
    await consumer.waitUntilConsuming(timeoutMs);
  };
  return { infra, app, consumer, port, ready, stop };
}
