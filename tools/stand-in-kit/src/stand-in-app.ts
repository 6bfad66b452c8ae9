import Fastify, { LogController } from 'fastify';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Logger } from 'pino';

export interface StandInAppOptions {
  logger: Logger;
  /** Sent with every HTML page. */
  pageContentSecurityPolicy: string;
  /** Headers for every answer besides `x-content-type-options: nosniff`, which all get. */
  headers?: Readonly<Record<string, string>>;
}

/**
 * The Fastify instance a stand-in's web app is built on, not listening, so tests can drive
 * it with inject(). The stand-in registers its own error handler and routes.
 */
export function createStandInApp(options: StandInAppOptions): FastifyInstance {
  // Typed as fastify's logger so the instance keeps fastify's default generics for callers.
  const httpLogger: FastifyBaseLogger = options.logger.child({ component: 'http' });
  const app = Fastify({
    loggerInstance: httpLogger,
    // A page reload per second from a developer's browser is not worth a log line each.
    logController: new LogController({ disableRequestLogging: true }),
    // Reject unknown or mistyped behaviour fields instead of silently dropping or coercing them,
    // so a typo in a fault suite fails loudly.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false } },
  });

  const headers = Object.entries(options.headers ?? {});
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    for (const [name, value] of headers) reply.header(name, value);
    const type = reply.getHeader('content-type');
    if (typeof type === 'string' && type.startsWith('text/html')) {
      reply.header('content-security-policy', options.pageContentSecurityPolicy);
    }
    return payload;
  });

  return app;
}

/** The HTTP status an error carries (Fastify's validation and parsing errors do one), else 500. */
export function errorStatus(error: unknown): number {
  const statusCode = (error as { statusCode?: unknown } | null | undefined)?.statusCode;
  return typeof statusCode === 'number' ? statusCode : 500;
}
