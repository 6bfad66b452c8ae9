import { pingDatabase } from '@notify/service-kit';
import type { Pool, Registry } from '@notify/service-kit';
import Type from 'typebox';
import type { ApiInstance } from '../http/api-instance.js';
import { refuseOtherMethods } from '../http/method-not-allowed.js';

export interface BrokerStatus {
  isReady(): boolean;
}

const Readiness = Type.Object({
  status: Type.Unsafe<'ready' | 'degraded' | 'not ready'>({
    type: 'string',
    enum: ['ready', 'degraded', 'not ready'],
  }),
  checks: Type.Object({ database: Type.Boolean(), broker: Type.Boolean() }),
});

/**
 * Health, readiness and metrics. Readiness follows the database only: with the broker
 * down orders are still stored safely and published from the outbox later, so the
 * instance keeps taking traffic and reports `degraded` with `broker: false`.
 */
export function opsRoutes(
  app: ApiInstance,
  deps: { pool: Pool; broker: BrokerStatus | null; registry: Registry },
): void {
  const ops = { public: true, rateLimit: false } as const;
  app.get(
    '/healthz',
    {
      config: ops,
      schema: {
        summary: 'The process is alive',
        tags: ['operations'],
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );
  refuseOtherMethods(app, '/healthz', ['GET']);

  app.get(
    '/readyz',
    {
      config: ops,
      schema: {
        summary: 'Database reachable (required) and broker connected (reported)',
        tags: ['operations'],
        response: { 200: Readiness, 503: Readiness },
      },
    },
    async (_request, reply) => {
      const database = await pingDatabase(deps.pool);
      const broker = deps.broker?.isReady() ?? false;
      const status = !database ? 'not ready' : broker ? 'ready' : 'degraded';
      return reply.code(database ? 200 : 503).send({ status, checks: { database, broker } });
    },
  );
  refuseOtherMethods(app, '/readyz', ['GET']);

  app.get(
    '/metrics',
    { config: ops, schema: { summary: 'Prometheus metrics', tags: ['operations'] } },
    async (_request, reply) => {
      reply.header('content-type', deps.registry.contentType);
      return deps.registry.metrics();
    },
  );
  refuseOtherMethods(app, '/metrics', ['GET']);
}
