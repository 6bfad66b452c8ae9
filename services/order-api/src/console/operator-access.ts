import type { FastifyRequest } from 'fastify';
import { HttpProblem, statusTitle } from '../http/problem.js';

/** The scope an API client needs to use the console. */
export const OPERATOR_SCOPE = 'operator';

/**
 * The one place that decides whether a caller may use the operator console: what it
 * shows (every client's orders, the dead letters) is for operators only.
 *
 * The API-key hook has already refused callers without a valid key. Keys that carry
 * scopes (`request.scopes`) must carry `operator`; keys without scopes, as API_KEYS
 * gives them today, and the anonymous caller of an API running without keys are
 * operators, as they are for the dead-letter routes.
 */
export function requireOperator(request: FastifyRequest): void {
  const scopes = (request as { scopes?: unknown }).scopes;
  if (scopes === undefined) return;
  if (Array.isArray(scopes) && scopes.includes(OPERATOR_SCOPE)) return;
  throw new HttpProblem(403, statusTitle(403), {
    detail: 'the console needs an API key with the operator scope',
  });
}
