import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HttpProblem, statusTitle } from './problem.js';

const ANONYMOUS = 'anonymous';

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

export interface ApiKeyVerifier {
  /** The client id of a valid key (a short hash of it, safe to log), or null. */
  verify(presented: string): string | null;
}

/**
 * Compares hashes of equal length with timingSafeEqual against every configured key,
 * without stopping at the first match, so neither the key's length nor which key
 * matched shows in the response time.
 */
export function apiKeyVerifier(keys: readonly string[]): ApiKeyVerifier {
  const known = keys.map((k) => {
    const d = digest(k);
    return { digest: d, clientId: `key-${d.subarray(0, 6).toString('hex')}` };
  });
  return {
    verify(presented) {
      const d = digest(presented);
      let match: string | null = null;
      for (const k of known) {
        if (timingSafeEqual(d, k.digest) && match === null) match = k.clientId;
      }
      return match;
    },
  };
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling: an API key id, or `anonymous` when auth is off. Scopes rate limits and idempotency keys. */
    clientId: string;
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
 * Bearer API keys from API_KEYS. With no keys configured every caller is `anonymous`;
 * otherwise everything but the public routes needs `Authorization: Bearer <key>`.
 *
 * The key is identified in onRequest but enforced in preParsing, so the rate limit
 * (an onRequest hook of each route, which runs after this one) counts refused callers
 * too, by IP: guessing keys is throttled like anything else. No body is read before
 * the refusal.
 */
export function registerApiKeyAuth(app: FastifyInstance, keys: readonly string[]): void {
  app.decorateRequest('clientId', ANONYMOUS);
  if (keys.length === 0) return;
  const verifier = apiKeyVerifier(keys);
  const presented = new WeakMap<FastifyRequest, 'missing' | 'invalid' | 'valid'>();
  app.addHook('onRequest', async (request) => {
    const header = request.headers.authorization;
    const m = header ? /^Bearer ([\x21-\x7e]{1,512})$/i.exec(header) : null;
    if (!m?.[1]) {
      presented.set(request, 'missing');
      return;
    }
    const clientId = verifier.verify(m[1]);
    presented.set(request, clientId ? 'valid' : 'invalid');
    if (clientId) request.clientId = clientId;
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
