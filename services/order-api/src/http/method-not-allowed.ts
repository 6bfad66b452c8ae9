import type { FastifyInstance } from 'fastify';
import { HttpProblem, statusTitle } from './problem.js';

const METHODS = ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT'] as const;

/**
 * Fastify answers 404 for a known path with an unknown method; HTTP wants 405 with
 * the methods that do exist. The refusal happens in onRequest, before any body is
 * read, so a wrong method never turns into a 415 or 413.
 */
export function refuseOtherMethods(app: FastifyInstance, url: string, allowed: readonly string[]): void {
  const allow = allowed.includes('GET') && !allowed.includes('HEAD') ? [...allowed, 'HEAD'] : [...allowed];
  app.route({
    method: METHODS.filter((m) => !allow.includes(m)),
    url,
    schema: { hide: true },
    onRequest: async () => {
      throw new HttpProblem(405, statusTitle(405), {
        detail: `this resource supports ${allow.join(', ')}`,
        headers: { allow: allow.join(', ') },
      });
    },
    handler: async () => undefined,
  });
}
