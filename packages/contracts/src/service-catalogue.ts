import { CHANNELS, ORDER_EVENTS_QUEUE, channelConsumers } from './topology.js';
import type { Channel } from './topology.js';

// The six deployable services as data: the local run, the fault suite and every
// deployment file (compose, Kubernetes, PostgreSQL init, broker users) take a
// service's name, port, schema and queue from here, so each is spelled once.

export type ServiceName = 'order-api' | Channel;

export interface ServiceEntry {
  readonly name: ServiceName;
  /** npm workspace name, what `turbo prune` and `npm -w` take. */
  readonly package: `@notify/${ServiceName}`;
  /** Workspace folder relative to the repository root. */
  readonly dir: `services/${ServiceName}`;
  /** Default HTTP port (API, health, metrics, webhooks); a deployment may override it with PORT. */
  readonly port: number;
  /**
   * Default port of the operations listener (/healthz, /readyz, /metrics; OPS_PORT). The
   * order API keeps it apart from its public port; a consumer service has one server,
   * which is its operations listener, so it is `port`.
   */
  readonly opsPort: number;
  /** Default size of the work pool (DATABASE_POOL_MAX). */
  readonly poolMax: number;
  /**
   * PostgreSQL sessions a replica holds beyond its work pool: the one-connection health
   * pool, and for the order API the outbox relay's and the event streams' LISTEN
   * connections. With poolMax, what the connection budget (docs/deployment.md) counts.
   */
  readonly extraSessions: number;
  /**
   * PostgreSQL schema (and role) of the service: its name with `-` as `_`, which is also
   * what a service uses when DATABASE_SCHEMA is unset.
   */
  readonly schema: string;
  /** The channel's work queue; null for the order API, which places work instead of doing it. */
  readonly workQueue: string | null;
  /** The queue the service consumes: its work queue, or for the order API the outcome events. */
  readonly consumedQueue: string;
}

/** Service names in start order: the API first, so the channels' events have a consumer. */
export const SERVICE_NAMES = ['order-api', ...CHANNELS] as const satisfies readonly ServiceName[];

const PORTS: Readonly<Record<ServiceName, number>> = {
  'order-api': 3000,
  email: 3001,
  whatsapp: 3002,
  logistic: 3003,
  payment: 3004,
  fraud: 3005,
};

// The order API's operations listener, after the six public ports.
const ORDER_API_OPS_PORT = 3006;

function entry(name: ServiceName, workQueue: string | null, consumedQueue: string): ServiceEntry {
  return Object.freeze({
    name,
    package: `@notify/${name}`,
    dir: `services/${name}`,
    port: PORTS[name],
    opsPort: name === 'order-api' ? ORDER_API_OPS_PORT : PORTS[name],
    poolMax: name === 'order-api' ? 20 : 10,
    extraSessions: name === 'order-api' ? 3 : 1,
    schema: name.replace(/-/g, '_'),
    workQueue,
    consumedQueue,
  });
}

export const SERVICE_CATALOGUE: Readonly<Record<ServiceName, ServiceEntry>> = Object.freeze(
  Object.fromEntries([
    ['order-api', entry('order-api', null, ORDER_EVENTS_QUEUE)],
    ...CHANNELS.map((c) => {
      const queue = channelConsumers[c].queue.name;
      return [c, entry(c, queue, queue)];
    }),
  ]) as Record<ServiceName, ServiceEntry>,
);

/** The catalogue's entries in start order (SERVICE_NAMES). */
export const SERVICE_LIST: readonly ServiceEntry[] = Object.freeze(
  SERVICE_NAMES.map((n) => SERVICE_CATALOGUE[n]),
);

export function isServiceName(value: string): value is ServiceName {
  return (SERVICE_NAMES as readonly string[]).includes(value);
}
