import Fastify, { LogController } from 'fastify';
import type { FastifyBaseLogger, FastifyInstance, FastifySchema } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Readiness } from './readiness.js';

/** The operations endpoints every service answers. */
export const OPS_PATHS = ['/healthz', '/readyz', '/metrics'] as const;

export interface OpsRouteOptions {
  /**
   * Route config given to each operations route, for an app whose hooks read it (the
   * order API marks them public and exempt from rate limiting).
   */
  readonly routeConfig?: Readonly<Record<string, unknown>>;
}

export type OpsRoutes = (app: FastifyInstance, options?: OpsRouteOptions) => void;

/**
 * A route's schema with its OpenAPI summary and tag. Fastify's own type knows those keys
 * only where @fastify/swagger is loaded (the order API), so they are added here untyped.
 */
function documented(summary: string, schema: FastifySchema = {}): FastifySchema {
  return { ...schema, summary, tags: ['operations'] } as FastifySchema;
}

const readinessSchema = {
  type: 'object',
  required: ['status', 'checks'],
  properties: {
    status: { type: 'string', enum: ['ready', 'degraded', 'not ready'] },
    checks: { type: 'object', additionalProperties: { type: 'boolean' } },
    reasons: { type: 'object', additionalProperties: { type: 'string' } },
  },
} as const;

/**
 * `/healthz` (the process answers), `/readyz` (the readiness rule of readiness.ts: 503
 * when not ready, with every check's result) and `/metrics` (Prometheus). The schemas
 * only describe the answers, for an app that publishes an OpenAPI document.
 */
export function opsRoutes(
  deps: { readonly readiness: Readiness; readonly registry: Registry },
  app: FastifyInstance,
  options: OpsRouteOptions = {},
): void {
  const config = { ...options.routeConfig };
  app.get(
    '/healthz',
    {
      config,
      schema: documented('The process is alive', {
        response: {
          200: { type: 'object', required: ['status'], properties: { status: { const: 'ok' } } },
        },
      }),
    },
    async () => ({ status: 'ok' as const }),
  );
  app.get(
    '/readyz',
    {
      config,
      schema: documented('Every required dependency is reachable (503 otherwise); the others are reported', {
        response: { 200: readinessSchema, 503: readinessSchema },
      }),
    },
    async (_request, reply) => {
      const report = await deps.readiness.report();
      return reply.code(report.status === 'not ready' ? 503 : 200).send(report);
    },
  );
  app.get('/metrics', { config, schema: documented('Prometheus metrics') }, async (_request, reply) => {
    reply.header('content-type', deps.registry.contentType);
    return deps.registry.metrics();
  });
}

/**
 * The HTTP server of a service without an API of its own: the operations routes, and
 * whatever the service adds before it listens (webhooks, diagnostics).
 */
export function createOpsServer(options: {
  readonly logger: Logger;
  readonly readiness: Readiness;
  readonly registry: Registry;
  readonly bodyLimit?: number;
  /** Fastify's requestTimeout, connectionTimeout and keepAliveTimeout (httpTimeouts of config.ts). */
  readonly timeouts?: {
    readonly requestTimeout: number;
    readonly connectionTimeout: number;
    readonly keepAliveTimeout: number;
  };
}): FastifyInstance {
  const app = Fastify({
    ...options.timeouts,
    loggerInstance: options.logger.child({ component: 'http' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.bodyLimit ?? 64 * 1024,
    return503OnClosing: true,
  });
  opsRoutes(options, app);
  return app;
}
