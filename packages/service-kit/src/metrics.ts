import type { ConsumerObserver } from '@notify/messaging';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export { Counter, Gauge, Histogram, Registry } from 'prom-client';

export function createRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** Prometheus counters and a latency histogram for a consumer runner, by queue and outcome. */
export function consumerMetrics(registry: Registry): ConsumerObserver {
  const processed = new Counter({
    name: 'messages_processed_total',
    help: 'Messages settled by the consumer, by outcome (ack, duplicate, retry, dead-letter; returned: let go unsettled at stop while an outage held it)',
    labelNames: ['queue', 'outcome'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'message_handling_seconds',
    help: 'Time from delivery to settlement',
    labelNames: ['queue', 'outcome'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const windowsFailed = new Counter({
    name: 'consumer_windows_failed_total',
    help: 'Windows that could not settle as one unit, so each message was handled alone (stage: check = the idempotency query, handler = the window handler); each message still got its own fate',
    labelNames: ['queue', 'stage'],
    registers: [registry],
  });
  return {
    onOutcome(outcome, info) {
      processed.inc({ queue: info.queue, outcome });
      duration.observe({ queue: info.queue, outcome }, info.durationMs / 1000);
    },
    onWindowFailed(info) {
      windowsFailed.inc({ queue: info.queue, stage: info.stage });
    },
  };
}
