import { Broker, Publisher } from '@notify/messaging';
import type { PausePolicy, RetryPolicy, TopologySpec } from '@notify/messaging';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { commonSpecs, httpTimeouts, loadConfig, retryFromEnv, topologyMode } from './config.js';
import { createPool, migrate, pingDatabase } from './db.js';
import type { Pool } from './db.js';
import { createLogger } from './logger.js';
import { consumerMetrics, createRegistry } from './metrics.js';
import { createOpsServer, OPS_PATHS } from './ops-server.js';
import { Readiness } from './readiness.js';
import type { ProbeResult, ReadinessChecks } from './readiness.js';
import type { RunningConsumer, ServiceConsumer } from './service-consumer.js';

export type CommonConfig = ReturnType<typeof loadCommonConfig>;

/** The variables every service reads (config.ts), with this service's defaults. */
export function loadCommonConfig(
  defaults: {
    readonly port: number;
    readonly opsPort?: number;
    readonly prefetch?: number;
    readonly poolMax?: number;
  },
  env: NodeJS.ProcessEnv = process.env,
) {
  return loadConfig(
    commonSpecs({
      defaultPort: defaults.port,
      defaultOpsPort: defaults.opsPort,
      database: 'notify',
      defaultPrefetch: defaults.prefetch,
      defaultPoolMax: defaults.poolMax,
    }),
    env,
  );
}

/** The standard readiness checks the root registers; see ServiceDefinition.readiness. */
export type StandardCheck = 'broker' | 'consumer' | 'database' | 'topology';

/** Background work of a service: loops, listeners, sweepers. */
export interface ServiceTask {
  readonly name: string;
  start(): unknown;
  /** Finishes the work in hand (a batch, a sweep) and stops. */
  stop(): Promise<unknown>;
}

/** What a service is made of, as its setup returns it. Everything is optional. */
export interface ServiceParts {
  /** The queues it consumes (channelConsumer / serviceConsumer). */
  readonly consumers?: readonly ServiceConsumer[];
  /**
   * The service's own HTTP app (the order API's), listening on PORT/HOST. It must not
   * answer the operations routes: the root serves them on a listener of their own
   * (OPS_PORT/OPS_HOST), which the deployment does not expose. Without an app the
   * root's server is the operations listener, on PORT/HOST.
   */
  readonly app?: FastifyInstance;
  /** Routes added to the root's own server (webhooks, diagnostics); not with `app`. */
  readonly routes?: (app: FastifyInstance) => void | Promise<void>;
  /** Started in order before the HTTP server listens; stopped in reverse after it closed. */
  readonly tasks?: readonly ServiceTask[];
  /** Service-specific readiness checks, added to the standard ones. */
  readonly checks?: ReadinessChecks;
  /** Closes adapters (SMTP pools, HTTP clients) once nothing can call them any more. */
  readonly close?: () => Promise<void>;
}

/** What the root has built when the service's setup runs. */
export interface ServiceInfra<Cfg> {
  readonly name: string;
  readonly common: CommonConfig;
  readonly config: Cfg;
  readonly logger: Logger;
  /** The service's PostgreSQL schema (DATABASE_SCHEMA, default its name). */
  readonly schema: string;
  /** The work pool, in the service's schema. */
  readonly pool: Pool;
  readonly broker: Broker;
  readonly publisher: Publisher;
  readonly registry: Registry;
  /** The readiness rule /readyz answers (for a console that shows it in-process). */
  readonly readiness: Readiness;
  /** The HTTP port: the one bound once the server listens (PORT=0 picks one), PORT before. */
  port(): number;
}

/**
 * Who a service is: its SERVICE_CATALOGUE entry (@notify/contracts). The name is the
 * logger's `service`, the broker connection's and the database session's name; the port
 * is PORT's default; the schema is DATABASE_SCHEMA's.
 */
export interface ServiceIdentity {
  readonly name: string;
  readonly port: number;
  /** OPS_PORT's default, for a service with its own app (default: port). */
  readonly opsPort?: number;
  /** DATABASE_POOL_MAX's default (10). */
  readonly poolMax?: number;
  readonly schema: string;
}

export interface ServiceDefinition<Cfg, Parts extends ServiceParts = ServiceParts> {
  readonly service: ServiceIdentity;
  /** PREFETCH when the environment does not say (default 16). */
  readonly defaultPrefetch?: number;
  /** SQL migrations (node-pg-migrate format), applied to the service's schema before anything else. */
  readonly migrationsDir?: string;
  /** Reads and validates the service's own variables; throw ConfigError to refuse to start. */
  readonly config: (env: NodeJS.ProcessEnv, common: CommonConfig) => Cfg;
  /** The work pool's size and connect timeout (defaults DATABASE_POOL_MAX and 5 s). */
  readonly database?: (config: Cfg) => {
    readonly poolMax?: number;
    readonly connectionTimeoutMs?: number;
  };
  /** Topology declared on every (re)connect, and the publisher's confirm timeout. */
  readonly broker?: (config: Cfg) => {
    readonly topology?: TopologySpec;
    readonly publishTimeoutMs?: number;
  };
  /** The consumers' retry policy; RETRY_MAX_ATTEMPTS and RETRY_DELAYS_MS override it. */
  readonly retry?: Partial<RetryPolicy>;
  /**
   * Standard checks whose failure only degrades the service (reported, still ready):
   * the order API keeps taking orders into its outbox while the broker is away.
   */
  readonly readiness?: { readonly reportOnly?: readonly StandardCheck[] };
  /** Builds adapters, use cases, consumers and HTTP from the infrastructure. */
  readonly setup: (infra: ServiceInfra<Cfg>) => Promise<Parts>;
}

/** What a service's start function takes besides the environment; tests set these. */
export interface StartOptions {
  readonly logger?: Logger;
  /** Overrides the definition's retry policy (short delays); RETRY_* variables still win. */
  readonly retry?: Partial<RetryPolicy>;
  /** How long consumers paused by an outage wait between tries (short in tests). */
  readonly pause?: Partial<PausePolicy>;
}

export interface RunningService<Cfg, Parts extends ServiceParts = ServiceParts> {
  readonly infra: ServiceInfra<Cfg>;
  readonly parts: Parts;
  /** The HTTP server that listens on PORT: the service's app, or the root's own. */
  readonly app: FastifyInstance;
  /** The server answering /healthz, /readyz and /metrics: `app` when the service has none of its own. */
  readonly ops: FastifyInstance;
  readonly consumers: readonly RunningConsumer[];
  readonly readiness: Readiness;
  /** The port actually bound (PORT=0 picks a free one). */
  readonly port: number;
  /** http://host:port of the server, with 127.0.0.1 for a wildcard host. */
  readonly url: string;
  /** The operations listener's port and URL (the same as port and url without an app of its own). */
  readonly opsPort: number;
  readonly opsUrl: string;
  /** Messages being handled right now, over all consumers. */
  inFlight(): number;
  /** Resolves once the broker is connected and every consumer is attached to its queue. */
  ready(timeoutMs?: number): Promise<void>;
  /** The ordered drain: everything started is stopped, in reverse order. Runs once. */
  stop(): Promise<void>;
}

interface StopStep {
  readonly name: string;
  readonly run: () => Promise<unknown>;
}

/**
 * The composition root of every service. It starts, in this order:
 *
 *   config -> logger -> migrations -> pools (work + one-connection health pool)
 *   -> broker -> publisher -> setup (the service's adapters and use cases)
 *   -> tasks -> HTTP servers (/healthz, /readyz, /metrics on the operations listener;
 *      a service with an API of its own serves it on a second listener) -> consumers
 *
 * and stops in exactly the reverse order: consumers drain their in-flight messages,
 * the HTTP server finishes its requests, tasks finish their work in hand, adapters
 * close, then the publisher, the broker and the pools. A failure while starting stops
 * what had started, the same way, and is thrown.
 *
 * Readiness is one rule for all (readiness.ts): `broker` connected, `consumer` (every
 * consumer attached and not paused by an outage, which it names; only for a service that
 * has consumers), `database` answering on the health pool, `topology` (with TOPOLOGY
 * verify: every exchange and queue the service uses exists, or what is missing), plus
 * the service's own checks.
 */
export async function startService<Cfg, Parts extends ServiceParts = ServiceParts>(
  def: ServiceDefinition<Cfg, Parts>,
  env: NodeJS.ProcessEnv = process.env,
  options: StartOptions = {},
): Promise<RunningService<Cfg, Parts>> {
  const { name } = def.service;
  const common = loadCommonConfig(
    {
      port: def.service.port,
      ...(def.service.opsPort !== undefined ? { opsPort: def.service.opsPort } : {}),
      ...(def.service.poolMax !== undefined ? { poolMax: def.service.poolMax } : {}),
      ...(def.defaultPrefetch ? { prefetch: def.defaultPrefetch } : {}),
    },
    env,
  );
  const config = def.config(env, common);
  const retry = { ...def.retry, ...options.retry, ...retryFromEnv(common) };
  const logger = options.logger ?? createLogger(name, common.LOG_LEVEL);
  const schema = common.DATABASE_SCHEMA || def.service.schema;

  const started: StopStep[] = [];
  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= (async () => {
      for (const step of started.splice(0).reverse()) {
        try {
          await step.run();
        } catch (err) {
          logger.warn({ step: step.name, err }, 'stop step failed; going on with the next');
        }
      }
    })();
    return stopping;
  };

  try {
    if (def.migrationsDir) {
      await migrate({ url: common.DATABASE_URL, schema, dir: def.migrationsDir, logger });
    }
    const db = def.database?.(config) ?? {};
    const pool = createPool({
      url: common.DATABASE_URL,
      schema,
      max: db.poolMax ?? common.DATABASE_POOL_MAX,
      applicationName: name,
      connectionTimeoutMillis: db.connectionTimeoutMs ?? 5_000,
    });
    started.push({ name: 'database pool', run: () => pool.end() });
    // Readiness pings on a connection of their own: handlers holding every pooled
    // connection (waiting on a row or advisory lock of a busy order) is load, not an
    // unreachable database, and must not turn the service unready.
    const healthPool = createPool({
      url: common.DATABASE_URL,
      schema,
      max: 1,
      applicationName: `${name}-health`,
      connectionTimeoutMillis: 2_000,
    });
    started.push({ name: 'health pool', run: () => healthPool.end() });

    const brokerOptions = def.broker?.(config) ?? {};
    const topology = topologyMode(common);
    const broker = await Broker.connect({
      url: common.AMQP_URL,
      connectionName: name,
      logger,
      topologyMode: topology,
      ...(brokerOptions.topology ? { topology: brokerOptions.topology } : {}),
    });
    started.push({
      name: 'broker',
      run: async () => {
        // A connection still declaring its topology is not closed by close() (it closes
        // itself later, with no error listener), so a pending attempt may finish first.
        if (!broker.isReady()) await broker.waitUntilConnected(2_000).catch(() => undefined);
        await broker.close();
      },
    });
    const publisher = new Publisher(broker, {
      logger,
      ...(brokerOptions.publishTimeoutMs ? { timeoutMs: brokerOptions.publishTimeoutMs } : {}),
    });
    started.push({ name: 'publisher', run: () => publisher.close() });

    const registry = createRegistry(name);
    const readiness = new Readiness({
      broker: () => broker.isReady(),
      database: () => pingDatabase(healthPool),
    });
    if (topology === 'verify') readiness.add('topology', () => topologyPresent(broker));
    let boundPort = common.PORT;
    const infra: ServiceInfra<Cfg> = {
      name,
      common,
      config,
      logger,
      schema,
      pool,
      broker,
      publisher,
      registry,
      readiness,
      port: () => boundPort,
    };

    const parts = await def.setup(infra);
    if (parts.close) started.push({ name: 'adapters', run: parts.close });

    const observer = consumerMetrics(registry);
    const consumers = (parts.consumers ?? []).map((c) =>
      c.create({
        broker,
        publisher,
        logger,
        observer,
        prefetch: common.PREFETCH,
        retry,
        pause: options.pause,
      }),
    );
    if (consumers.length) readiness.add('consumer', () => consumersReady(consumers));
    readiness.addAll(parts.checks ?? {});
    readiness.reportOnly(def.readiness?.reportOnly ?? []);

    for (const task of parts.tasks ?? []) {
      // Registered first: a task that fails half-way through starting is stopped too.
      started.push({ name: task.name, run: () => task.stop() });
      await task.start();
    }

    const timeouts = httpTimeouts(common);
    const ops = createOpsServer({ logger, readiness, registry, timeouts });
    const app = parts.app ?? ops;
    let opsPort: number;
    if (app !== ops) {
      // The operations listener first, so probes see the service start; closed last.
      started.push({ name: 'ops http', run: () => ops.close() });
      await ops.listen({ port: common.OPS_PORT, host: common.OPS_HOST });
      opsPort = boundPortOf(ops, common.OPS_PORT);
    }
    started.push({ name: 'http', run: () => app.close() });
    await completeHttpServer(app, parts);
    await app.listen({ port: common.PORT, host: common.HOST });
    boundPort = boundPortOf(app, common.PORT);
    opsPort ??= boundPort;

    for (const consumer of consumers) {
      started.push({
        name: `consumer ${consumer.queue}`,
        run: () => consumer.stop(common.SHUTDOWN_TIMEOUT_MS),
      });
      await consumer.start();
    }
    logger.info({ port: boundPort, opsPort, queues: consumers.map((c) => c.queue) }, `${name} started`);

    return {
      infra,
      parts,
      app,
      ops,
      consumers,
      readiness,
      port: boundPort,
      url: localUrl(common.HOST, boundPort),
      opsPort,
      opsUrl: app === ops ? localUrl(common.HOST, boundPort) : localUrl(common.OPS_HOST, opsPort),
      inFlight: () => consumers.reduce((n, c) => n + c.active, 0),
      async ready(timeoutMs = 30_000) {
        await broker.waitUntilConnected(timeoutMs);
        for (const c of consumers) await c.waitUntilConsuming(timeoutMs);
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Every consumer attached; else which dependency an outage took, or which queue is not consumed. */
export function consumersReady(
  consumers: readonly Pick<RunningConsumer, 'queue' | 'isConsuming' | 'status'>[],
): ProbeResult {
  const problems = consumers.flatMap((c) => {
    if (c.status.state === 'paused') return [`${c.status.dependency} unavailable: ${c.status.reason}`];
    return c.isConsuming ? [] : [`not consuming ${c.queue}`];
  });
  return problems.length ? { ok: false, reason: [...new Set(problems)].join('; ') } : true;
}

/**
 * With TOPOLOGY=verify, the exchanges and queues the service uses exist. What was missing
 * is checked again on every probe, so the service turns ready by itself once a deployment
 * created it.
 */
async function topologyPresent(broker: Broker): Promise<ProbeResult> {
  const missing = broker.missingTopology.length ? await broker.verifyTopology() : [];
  return missing.length ? { ok: false, reason: `missing ${missing.join(', ')}` } : true;
}

function boundPortOf(app: FastifyInstance, configured: number): number {
  const address = app.server.address();
  return typeof address === 'object' && address ? address.port : configured;
}

/** http://host:port with 127.0.0.1 for a wildcard host. */
function localUrl(host: string, port: number): string {
  const h = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return `http://${h}:${port}`;
}

async function completeHttpServer(app: FastifyInstance, parts: ServiceParts): Promise<void> {
  if (!parts.app) {
    await parts.routes?.(app);
    return;
  }
  if (parts.routes) throw new Error('a service with its own app adds its routes to it, not through routes');
  // Operations routes on the public app would expose metrics and readiness details
  // to every client, and tie probes to the API's own pool and rate limit.
  for (const url of OPS_PATHS) {
    if (app.hasRoute({ method: 'GET', url })) {
      throw new Error(`the service's app answers GET ${url}: the operations listener (OPS_PORT) serves it`);
    }
  }
}
