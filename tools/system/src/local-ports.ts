import { SERVICE_CATALOGUE, SERVICE_LIST } from '@notify/contracts';
import type { ServiceName } from '@notify/contracts';
import { PreflightError } from './preflight.js';

const FIRST = SERVICE_CATALOGUE['order-api'].port;
const SPAN = Math.max(...SERVICE_LIST.flatMap((s) => [s.port, s.opsPort])) - FIRST;

/**
 * The services' ports for `npm start` and `npm run demo`: the catalogue's (the order API
 * on 3000, the others after it), or the same layout moved to start at PORT_BASE, for a
 * machine where those are taken.
 */
export function localServicePorts(env: NodeJS.ProcessEnv = process.env): Record<ServiceName, number> {
  const raw = env.PORT_BASE;
  const base = raw === undefined || raw === '' ? FIRST : Number(raw);
  if (!Number.isInteger(base) || base < 1024 || base + SPAN > 65_535)
    throw new PreflightError(`PORT_BASE must be a whole number from 1024 to ${65_535 - SPAN}`);
  return Object.fromEntries(SERVICE_LIST.map((s) => [s.name, base + s.port - FIRST])) as Record<
    ServiceName,
    number
  >;
}

/** The order API's operations port in the same layout (3006, or PORT_BASE + 6). */
export function localOpsPort(env: NodeJS.ProcessEnv = process.env): number {
  return localServicePorts(env)['order-api'] + SERVICE_CATALOGUE['order-api'].opsPort - FIRST;
}
