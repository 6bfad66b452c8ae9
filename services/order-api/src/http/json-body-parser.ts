import type { FastifyInstance } from 'fastify';

/** Why a body could not be taken: not JSON, a prototype key, or text PostgreSQL cannot store. */
export type BodyParseErrorKind = 'malformed' | 'forbidden-key' | 'unstorable-text';

/** The request body could not be taken as JSON; `field` names where the cause was, as a JSON Pointer. */
export class BodyParseError extends Error {
  readonly statusCode = 400;
  constructor(
    readonly kind: BodyParseErrorKind,
    readonly field?: string,
  ) {
    super(
      kind === 'malformed'
        ? 'body is not valid JSON'
        : kind === 'forbidden-key'
          ? `body contains the forbidden key ${field}`
          : `body contains text that cannot be stored at ${field}`,
    );
    this.name = 'BodyParseError';
  }
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * PostgreSQL's text and jsonb refuse the NUL character, and jsonb refuses an unpaired
 * UTF-16 surrogate (JSON allows both as `\u` escapes). Such text would fail the whole
 * group commit it is written with, so it is refused here, before anything is stored.
 */
// Without the `u` flag a regular expression sees UTF-16 code units, so a lone half of a
// surrogate pair is found by looking at its neighbours. NUL is matched on purpose.
// eslint-disable-next-line no-control-regex
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const UNSTORABLE_ALL = new RegExp(UNSTORABLE.source, 'g');

export function isStorableText(text: string): boolean {
  return !UNSTORABLE.test(text);
}

interface BodyFault {
  readonly kind: 'forbidden-key' | 'unstorable-text';
  readonly field: string;
}

const pointerSegment = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1');

/** The first key or string in `value` that may not pass, with its JSON Pointer. */
export function bodyFault(value: unknown, path = ''): BodyFault | null {
  if (typeof value === 'string') {
    return isStorableText(value) ? null : { kind: 'unstorable-text', field: path || 'body' };
  }
  if (value === null || typeof value !== 'object') return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const hit = bodyFault(value[i], `${path}/${i}`);
      if (hit) return hit;
    }
    return null;
  }
  for (const key of Object.keys(value)) {
    // A bad key is named by its parent's pointer plus a printable stand-in, because the
    // key itself cannot be echoed back faithfully.
    if (!isStorableText(key))
      return { kind: 'unstorable-text', field: `${path}/${pointerSegment(printable(key))}` };
    const here = `${path}/${pointerSegment(key)}`;
    if (FORBIDDEN_KEYS.has(key)) return { kind: 'forbidden-key', field: here };
    const hit = bodyFault((value as Record<string, unknown>)[key], here);
    if (hit) return hit;
  }
  return null;
}

/** The key with NUL and unpaired surrogates shown as `\u` escapes. */
function printable(key: string): string {
  return key.replace(UNSTORABLE_ALL, (ch) => `\\u${(ch.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`);
}

/**
 * Only `application/json` is accepted (any other type answers 415). JSON.parse keeps
 * `__proto__` as an own key instead of touching the prototype, and a walk then refuses
 * `__proto__`, `constructor` and `prototype` anywhere, and any key or string the
 * database cannot store, naming where it was, which Fastify's default parser cannot tell.
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
    const fault = bodyFault(value);
    if (fault) {
      done(new BodyParseError(fault.kind, fault.field), undefined);
      return;
    }
    done(null, value);
  });
}
