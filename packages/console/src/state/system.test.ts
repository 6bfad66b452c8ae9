import { describe, expect, it } from 'vitest';
import type { ServiceStatus, SystemStatus } from '../api/types.js';
import { readinessChanges } from './system.js';

function status(readiness: Record<string, ServiceStatus['readiness']['status']>): SystemStatus {
  const none = { value: null, source: 'amqp' as const, note: 'n' };
  return {
    sampledAt: '2025-01-01T00:00:00.000Z',
    sources: {
      amqp: { available: true, note: null },
      readyz: { available: true, note: null },
      metrics: { available: true, note: null },
      management: { available: false, note: 'RABBITMQ_MANAGEMENT_URL is not set' },
      park: { available: true, note: null },
    },
    services: Object.entries(readiness).map(([service, s]) => ({
      service,
      queue: service,
      readiness: { status: s, checks: {}, note: null },
      depth: none,
      consumers: none,
      messagesPerSecond: none,
      retrying: none,
      deadLetters: none,
      brokerRates: { publish: none, deliver: none, ack: none },
    })),
  };
}

describe('the System view', () => {
  it('announces a service whose readiness changed, and nothing on the first sample', () => {
    expect(readinessChanges(null, status({ email: 'ready' }))).toBe('');
    expect(
      readinessChanges(
        status({ email: 'ready', fraud: 'ready' }),
        status({ email: 'unknown', fraud: 'ready' }),
      ),
    ).toBe('email is unknown');
  });
});
