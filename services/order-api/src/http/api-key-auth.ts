import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { FORWARDER_SCOPE, OPERATOR_SCOPE } from './api-clients.js';
import type { ApiClient } from './api-clients.js';
import { HttpProblem, statusTitle } from './problem.js';

const ANONYMOUS = 'anonymous';
/** Without keys (local runs) the one anonymous caller may do everything. */
const ANONYMOUS_SCOPES: readonly string[] = [OPERATOR_SCOPE, FORWARDER_SCOPE];
const NO_SCOPES: readonly string[] = [];

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

export interface ApiKeyVerifier {
  /** The client whose key this is, or null. */
  verify(presented: string): ApiClient | null;
}

/**
 * Compares hashes of equal length with timingSafeEqual against every configured key,
 * without stopping at the first match, so neither the key's length nor which key
 * matched shows in the response time.
 */
export function apiKeyVerifier(clients: readonly ApiClient[]): ApiKeyVerifier {
  const known = clients.map((client) => ({ digest: digest(client.key), client }));
  return {
    verify(presented) {
      const d = digest(presented);
      let match: ApiClient | null = null;
      for (const k of known) {
        if (timingSafeEqual(d, k.digest) && match === null) match = k.client;
      }
      return match;
    },
  };
}

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * Who is calling: the client's name from API_KEYS, `key-<hash>` for an unnamed key, or
     * `anonymous` when auth is off. Owns the orders it creates; scopes rate limits and
     * idempotency keys. Never the key itself.
     */
    clientId: string;
    /** What the caller may do beyond its own orders (`operator`). */
    scopes: readonly string[];
  }
  interface FastifyContextConfig {
    /** Reachable without an API key (health, readiness, metrics, docs, /asyncapi.json). */
    public?: boolean;
  }
}

function isPublic(request: FastifyRequest): boolean {
  if (request.routeOptions.config?.public) return true;
  const url = request.routeOptions.url;
  // Routes of the documentation plugin, which cannot carry our route config.
  return url === '/openapi.json' || url === '/docs' || (url?.startsWith('/docs/') ?? false);
}

/**
 * Bearer API keys of the clients in API_KEYS. With no keys configured every caller is
 * `anonymous` (with every scope); otherwise everything but the public routes needs
 * `Authorization: Bearer <key>`.
 *
 * The key is identified in onRequest but enforced in preParsing, so the rate limit
 * (an onRequest hook of each route, which runs after this one) counts refused callers
 * too, by IP: guessing keys is throttled like anything else. No body is read before
 * the refusal.
 */
export function registerApiKeyAuth(app: FastifyInstance, clients: readonly ApiClient[]): void {
  app.decorateRequest('clientId', ANONYMOUS);
  // A reference type cannot be a decorator's default; every request gets its own below.
  app.decorateRequest('scopes', null as unknown as readonly string[]);
  if (clients.length === 0) {
    app.addHook('onRequest', async (request) => {
      request.scopes = ANONYMOUS_SCOPES;
    });
    return;
  }
  const verifier = apiKeyVerifier(clients);
  const presented = new WeakMap<FastifyRequest, 'missing' | 'invalid' | 'valid'>();
  app.addHook('onRequest', async (request) => {
    request.scopes = NO_SCOPES;
    const header = request.headers.authorization;
    const m = header ? /^Bearer ([\x21-\x7e]{1,512})$/i.exec(header) : null;
    if (!m?.[1]) {
      presented.set(request, 'missing');
      return;
    }
    const client = verifier.verify(m[1]);
    presented.set(request, client ? 'valid' : 'invalid');
    if (client) {
      request.clientId = client.id;
      request.scopes = client.scopes;
    }
  });
  app.addHook('preParsing', async (request) => {
    if (isPublic(request)) return;
    const state = presented.get(request);
    if (state === 'valid') return;
    if (state === 'invalid') {
      throw new HttpProblem(401, statusTitle(401), {
        detail: 'the API key is not valid',
        headers: { 'www-authenticate': 'Bearer realm="order-api", error="invalid_token"' },
      });
    }
    throw new HttpProblem(401, statusTitle(401), {
      detail: 'send Authorization: Bearer <api key>',
      headers: { 'www-authenticate': 'Bearer realm="order-api"' },
    });
  });
}
