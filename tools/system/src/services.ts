import { fileURLToPath } from 'node:url';

/** The six processes of the system, in start order, with their default ports. */
export const SERVICES = [
  { name: 'order-api', port: 3000 },
  { name: 'email', port: 3001 },
  { name: 'whatsapp', port: 3002 },
  { name: 'logistic', port: 3003 },
  { name: 'payment', port: 3004 },
  { name: 'fraud', port: 3005 },
] as const;

export type ServiceName = (typeof SERVICES)[number]['name'];

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export function serviceDir(name: ServiceName): string {
  return `${REPO_ROOT}services/${name}`;
}

/** Built output, as production runs it. */
export function serviceEntry(name: ServiceName): string {
  return `${serviceDir(name)}/dist/main.js`;
}
