import type { FastifyRequest } from 'fastify';
import { OPERATOR_SCOPE } from '../http/api-clients.js';
import { HttpProblem, statusTitle } from '../http/problem.js';

export { OPERATOR_SCOPE };

/**
 * The one place that decides whether a caller may act as an operator: the console
 * (every client's orders) and the dead-letter endpoints (every client's messages).
 *
 * The API-key hook has already refused callers without a valid key and given each the
 * scopes of its client: `operator` for the clients API_OPERATORS names, and for the
 * anonymous caller of an API running without keys (local runs).
 */
export function requireOperator(request: FastifyRequest, what = 'the console'): void {
  if (request.scopes.includes(OPERATOR_SCOPE)) return;
  throw new HttpProblem(403, statusTitle(403), {
    detail: `${what} needs a client with the operator scope (API_OPERATORS)`,
  });
}

/** Whose orders the caller may read: its own, or (an operator) every client's. */
export function orderOwnerFilter(request: FastifyRequest): string | null {
  return request.scopes.includes(OPERATOR_SCOPE) ? null : request.clientId;
}
