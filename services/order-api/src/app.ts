import { randomUUID } from 'node:crypto';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { asyncApiDocument } from '@notify/contracts';
import type { Pool } from '@notify/service-kit';
import Fastify, { LogController } from 'fastify';
import type { FastifyBaseLogger, FastifyError } from 'fastify';
import type { Logger } from 'pino';
import type { Publisher } from '@notify/messaging';
import { OrderReadModel } from './adapters/order-read-model.js';
import { OrderRepository } from './adapters/order-repository.js';
import { StatusRepository } from './adapters/status-repository.js';
import { ParkedLetters } from './dead-letters/parked-letters.js';
import type { ApiClient } from './http/api-clients.js';
import { registerApiKeyAuth } from './http/api-key-auth.js';
import type { SharedRateLimitStore } from './http/rate-limit-store.js';
import type { ApiInstance } from './http/api-instance.js';
import { acceptJsonOnly } from './http/json-body-parser.js';
import { HttpProblem, problemFor, sendProblem, statusTitle } from './http/problem.js';
import type { ApiMetrics } from './metrics.js';
import { deadLetterRoutes } from './routes/dead-letter-routes.js';
import { orderRoutes } from './routes/order-routes.js';
import { orderStreamRoutes } from './routes/order-stream-routes.js';
import type { OrderStreamOptions } from './routes/order-stream-routes.js';
import type { OrderChanges } from './status/order-changes.js';
import type { ConsoleSetup } from './console/console-setup.js';
import { consoleRoutes } from './routes/console-routes.js';
import { preferenceRoutes } from './routes/preference-routes.js';
import type { PreferenceRouteDeps } from './routes/preference-routes.js';

export interface AppOptions {
  /** API clients with their bearer keys and scopes; empty disables authentication. */
  readonly clients: readonly ApiClient[];
  /** Requests per client per window; 0 disables rate limiting. */
  readonly rateLimitMax: number;
  readonly rateLimitWindowMs: number;
  /** Counters in Redis, shared by every replica; without it each process counts alone. */
  readonly rateLimitStore?: SharedRateLimitStore;
  readonly bodyLimitBytes: number;
  /** Proxies trusted for X-Forwarded-For: none, every hop (not in production), a hop count, or IPs/CIDRs. */
  readonly trustProxy: boolean | number | readonly string[];

  readonly streams: OrderStreamOptions;
  /** Fastify's requestTimeout, connectionTimeout and keepAliveTimeout (service-kit's httpTimeouts). */
  readonly timeouts?: {
    readonly requestTimeout: number;
    readonly connectionTimeout: number;
    readonly keepAliveTimeout: number;
  };
  /** The broker's virtual host, named in the AsyncAPI document's bindings (default `/`). */
  readonly vhost?: string;
}

export interface AppDeps {
  readonly pool: Pool;
  /** Called after an order's outbox rows committed, to wake the relays. */
  readonly outboxCommitted?: () => void;
  /** Announces changed orders to this process's event streams. */
  readonly changes: OrderChanges;
  /** Republishes replayed dead letters (confirmed). */
  readonly publisher: Pick<Publisher, 'publishRaw'>;
  readonly logger: Logger;
  readonly metrics: ApiMetrics;
  readonly options: AppOptions;
  /** The operator console under /console (src/console); absent in tests that do not need it. */
  readonly console?: ConsoleSetup;
  /** Customer preferences and the unsubscribe endpoint (routes/preference-routes.ts). */
  readonly preferences: PreferenceRouteDeps;
}

/** Fastify's form of TRUST_PROXY: a hop count trusts the nearest n proxies, as proxy-addr does. */
function trustProxySetting(trust: AppOptions['trustProxy']) {
  if (typeof trust === 'number') return (_address: string, hop: number) => hop < trust;
  return typeof trust === 'object' ? [...trust] : trust;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The HTTP API without a listening socket: tests drive it with `inject()`, and the
 * composition root that server.ts hands it to listens. Route schemas are the single
 * source of validation, types and OpenAPI.
 */
export async function buildApp(deps: AppDeps): Promise<ApiInstance> {
  const { options } = deps;
  const app = Fastify({
    ...options.timeouts,
    loggerInstance: deps.logger.child({ component: 'http' }) as FastifyBaseLogger,
    // Requests are counted and timed in metrics; per-request log lines would cost more than they tell.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.bodyLimitBytes,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    trustProxy: trustProxySetting(options.trustProxy),
    return503OnClosing: true,
    // A caller's X-Request-Id is kept when it is a UUID, so problem `instance` values stay URNs.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && UUID.test(given) ? given : randomUUID();
    },
    ajv: {
      // Strict at the edge: nothing is coerced, defaulted or silently stripped, so an
      // unknown field is an error, not a surprise. allErrors lists every bad field;
      // bodies are bounded by bodyLimit and arrays by maxItems, which keeps it cheap.
      customOptions: {
        coerceTypes: false,
        removeAdditional: false,
        useDefaults: false,
        allErrors: true,
        strict: true,
      },
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  acceptJsonOnly(app);

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const labels = { route, method: request.method, status: String(reply.statusCode) };
    deps.metrics.httpRequests.inc(labels);
    deps.metrics.httpDuration.observe(labels, reply.elapsedTime / 1000);
  });
  registerApiKeyAuth(app, options.clients);

  app.setErrorHandler((err: FastifyError, request, reply) => {
    const problem = problemFor(err);
    if (problem.status >= 500) {
      request.log.error({ err, reqId: request.id }, 'request failed');
    }
    return sendProblem(request, reply, problem);
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      request,
      reply,
      new HttpProblem(404, statusTitle(404), { detail: `no resource at ${request.method} ${request.url}` }),
    ),
  );

  if (options.rateLimitMax > 0) {
    await app.register(rateLimit, {
      global: true,
      max: options.rateLimitMax,
      timeWindow: options.rateLimitWindowMs,
      ...(options.rateLimitStore
        ? {
            redis: options.rateLimitStore.redis,
            nameSpace: options.rateLimitStore.nameSpace,
            // Redis away: take the request rather than fail it; the store logs the outage.
            skipOnError: true,
          }
        : {}),
      keyGenerator: (request) => (request.clientId !== 'anonymous' ? request.clientId : request.ip),
      errorResponseBuilder: (_request, context) =>
        new HttpProblem(429, statusTitle(429), {
          detail: `more than ${context.max} requests in the window; retry in ${context.after}`,
        }),
    });
  }

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Order API',
        version: '1.0.0',
        description:
          'Places orders and reports the state of their five notifications (email, WhatsApp, logistic, ' +
          'payment, fraud). Errors are RFC 9457 problem documents (application/problem+json).\n\n' +
          '**Channel states**, in rank order: `pending` (in the outbox) < `published` (confirmed by the ' +
          'broker) < `retrying` < `failed` (the service settled a negative outcome: payment declined, ' +
          'not shippable, email refused, WhatsApp undelivered) < `dead_lettered` (the message is parked in ' +
          'its dead-letter queue; replayable) < `succeeded`. A channel only moves up: late, duplicated or ' +
          'reordered events never move it back. Only a replay of a dead letter starts it over from `published`. ' +
          'WhatsApp follows the furthest Twilio status seen (queued < sent < delivered|failed|undelivered < read) ' +
          'in `details.deliveryStatus`.\n\n' +
          '**Order status**, the first rule that holds: `flagged` when the fraud assessment decided ' +
          '`review` or `reject`; `attention` when a channel is `failed` or `dead_lettered`; `completed` ' +
          'when all five `succeeded`; `processing` when all five were published; otherwise `accepted`.',
      },
      tags: [
        { name: 'orders', description: 'Orders and their notifications' },
        { name: 'dead letters', description: 'Dead-lettered messages and their replay' },
      ],
      ...(options.clients.length
        ? {
            components: {
              securitySchemes: {
                apiKey: {
                  type: 'http',
                  scheme: 'bearer',
                  description:
                    "An API client's key: `Authorization: Bearer <key>`. The server lists its clients in " +
                    '`API_KEYS=shop-eu=<key>,shop-us=<key>` (a bare key is an unnamed client) or a file named ' +
                    'by `API_KEYS_FILE`. A client creates orders and reads only its own: another ' +
                    "client's order is `404`. The clients named in `API_OPERATORS` also have the " +
                    '`operator` scope, which the dead-letter endpoints need (`403` without it), and read every order.',
                },
              },
            },
            security: [{ apiKey: [] }],
          }
        : {}),
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });

  const orders = new OrderRepository(deps.pool, {
    ...(deps.outboxCommitted ? { onCommitted: deps.outboxCommitted } : {}),
  });
  const views = new OrderReadModel(deps.pool);
  app.get('/openapi.json', { config: { public: true }, schema: { hide: true } }, async () => app.swagger());
  // The messages beside the endpoints: built once, for the vhost this API publishes to.
  const asyncApi = asyncApiDocument({ vhost: options.vhost ?? '/' });
  app.get('/asyncapi.json', { config: { public: true }, schema: { hide: true } }, async () => asyncApi);
  orderRoutes(app, { orders, views, metrics: deps.metrics });
  orderStreamRoutes(app, { views, changes: deps.changes, options: options.streams });
  preferenceRoutes(app, deps.preferences);
  deadLetterRoutes(app, {
    letters: new ParkedLetters(deps.pool),
    publisher: deps.publisher,
    statuses: new StatusRepository(deps.pool),
  });
  if (deps.console) await app.register(consoleRoutes, deps.console);

  await app.ready();
  return app;
}
