import { readFile } from 'node:fs/promises';
import { Ajv } from 'ajv';
import type { ErrorObject } from 'ajv';
import { parse } from 'yaml';
import { parseDotEnv } from '../env-file.js';
import { repoPath } from '../repo-paths.js';
import { interpolate } from './interpolate.js';

export const COMPOSE_FILE = 'infra/compose.yaml';
export const ENV_EXAMPLE = 'infra/.env.example';

export interface ComposeService {
  image?: string;
  command?: string | string[];
  build?: { context: string; dockerfile?: string; args?: Record<string, string> };
  environment?: Record<string, string | number | boolean | null>;
  healthcheck?: { test?: string | string[]; disable?: boolean };
  depends_on?: Record<string, { condition?: string }> | string[];
  restart?: string;
  volumes?: (string | Record<string, unknown>)[];
  ports?: (string | Record<string, unknown>)[];
}

export interface ComposeFile {
  name?: string;
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

export async function readComposeText(): Promise<string> {
  return readFile(repoPath(COMPOSE_FILE), 'utf8');
}

export async function readEnvExample(): Promise<Map<string, string>> {
  return parseDotEnv(await readFile(repoPath(ENV_EXAMPLE), 'utf8'));
}

function interpolateValues(value: unknown, env: ReadonlyMap<string, string>): unknown {
  if (typeof value === 'string') return interpolate(value, env);
  if (Array.isArray(value)) return value.map((v) => interpolateValues(v, env));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateValues(v, env)]));
  return value;
}

/**
 * The compose file as `docker compose` sees it with the given .env: YAML parsed with
 * anchors and merge keys resolved, then variables substituted in every value.
 */
export function loadCompose(text: string, env: ReadonlyMap<string, string>): ComposeFile {
  return interpolateValues(parse(text, { merge: true }), env) as ComposeFile;
}

/** The parsed file before substitution: what compose.yaml itself says. */
export function loadComposeUninterpolated(text: string): ComposeFile {
  return parse(text, { merge: true }) as ComposeFile;
}

export async function composeSpecValidator() {
  const schema = JSON.parse(
    await readFile(new URL('../../schemas/compose-spec.json', import.meta.url), 'utf8'),
  ) as Record<string, unknown>;
  // The schema names draft-07 by its https address; Ajv knows the draft by its http one.
  const { $schema: _declared, ...body } = schema;
  const ajv = new Ajv({ allErrors: true, strict: false });
  const validate = ajv.compile(body);
  return (doc: unknown): ErrorObject[] => (validate(doc) ? [] : [...(validate.errors ?? [])]);
}
