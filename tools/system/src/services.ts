import { fileURLToPath } from 'node:url';
import { SERVICE_CATALOGUE } from '@notify/contracts';
import type { ServiceName } from '@notify/contracts';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export function serviceDir(name: ServiceName): string {
  return `${REPO_ROOT}${SERVICE_CATALOGUE[name].dir}`;
}

/** Built output, as production runs it. */
export function serviceEntry(name: ServiceName): string {
  return `${serviceDir(name)}/dist/main.js`;
}

/** The service's PostgreSQL schema, for queries that read its tables. */
export function schemaOf(name: ServiceName): string {
  return SERVICE_CATALOGUE[name].schema;
}
