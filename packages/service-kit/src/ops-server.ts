import Fastify, { LogController } from 'fastify';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';

export type ReadinessChecks = Record<string, () => boolean | Promise<boolean>>;

/**
 * The HTTP side of a consumer service: `/healthz` (the process answers), `/readyz`
 * (every dependency check passes; 503 with the failing ones otherwise) and `/metrics`.
 * Services add their own routes (webhooks) to the returned instance before listen.
 */
export function createOpsServer(options: {
  logger: Logger;
  registry: Registry;
  checks: ReadinessChecks;
  bodyLimit?: number;
}): FastifyInstance {
  const app = Fastify({
    loggerInstance: options.logger.child({ component: 'http' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.bodyLimit ?? 64 * 1024,
    return503OnClosing: true,
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const results: Record<string, boolean> = {};
    for (const [name, check] of Object.entries(options.checks)) {
      try {
        results[name] = await check();
      } catch {
        results[name] = false;
      }
    }
    const ready = Object.values(results).every(Boolean);
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks: results });
  });
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', options.registry.contentType);
    return options.registry.metrics();
  });
  return app;
}
