import type { FastifyInstance } from 'fastify';

/** The request body could not be taken as JSON; `field` names a forbidden key when that was the cause. */
export class BodyParseError extends Error {
  readonly statusCode = 400;
  constructor(
    readonly kind: 'malformed' | 'forbidden-key',
    readonly field?: string,
  ) {
    super(kind === 'malformed' ? 'body is not valid JSON' : `body contains the forbidden key ${field}`);
    this.name = 'BodyParseError';
  }
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

function forbiddenKeyPath(value: unknown, path: string): string | null {
  if (value === null || typeof value !== 'object') return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const hit = forbiddenKeyPath(value[i], `${path}/${i}`);
      if (hit) return hit;
    }
    return null;
  }
  for (const key of Object.keys(value)) {
    const here = `${path}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    if (FORBIDDEN_KEYS.has(key)) return here;
    const hit = forbiddenKeyPath((value as Record<string, unknown>)[key], here);
    if (hit) return hit;
  }
  return null;
}

/**
 * Only `application/json` is accepted (any other type answers 415). JSON.parse keeps
 * `__proto__` as an own key instead of touching the prototype, and a walk then refuses
 * `__proto__`, `constructor` and `prototype` anywhere, naming where the key was, which
 * Fastify's default parser cannot tell.
 */
export function acceptJsonOnly(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = body as string;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      done(new BodyParseError('malformed'), undefined);
      return;
    }
    const forbidden = forbiddenKeyPath(value, '');
    if (forbidden) {
      done(new BodyParseError('forbidden-key', forbidden), undefined);
      return;
    }
    done(null, value);
  });
}
