import type { SystemStatus } from '../api/types.js';

export const SOURCE_TITLES = {
  amqp: 'Queues over AMQP',
  readyz: 'Service readiness (/readyz)',
  metrics: 'Service counters (/metrics)',
  management: 'Broker management API',
  park: 'Parked dead letters (PostgreSQL)',
} as const;

/** What changed in the services' readiness between two samples, in words; empty when nothing did. */
export function readinessChanges(before: SystemStatus | null, after: SystemStatus): string {
  if (!before) return '';
  const was = new Map(before.services.map((s) => [s.service, s.readiness.status]));
  return after.services
    .filter((s) => was.has(s.service) && was.get(s.service) !== s.readiness.status)
    .map((s) => `${s.service} is ${s.readiness.status}`)
    .join('; ');
}
