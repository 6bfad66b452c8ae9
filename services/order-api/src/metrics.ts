import { Counter, Gauge, Histogram } from '@notify/service-kit';
import type { Registry } from '@notify/service-kit';
import type { Logger } from 'pino';
import type { OutboxBacklog, OutboxStore } from './outbox/outbox-store.js';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface RelayMetrics {
  published(count: number): void;
  publishFailed(reason: string): void;
  /** Seconds from the publish call to the broker's confirm. */
  publishLatency(seconds: number): void;
  /** Seconds from the outbox row's insert to its being marked published. */
  outboxLag(seconds: number): void;
}

export interface ApiMetrics {
  readonly httpRequests: Counter<'route' | 'method' | 'status'>;
  readonly httpDuration: Histogram<'route' | 'method' | 'status'>;
  readonly ordersCreated: Counter;
  readonly relay: RelayMetrics;
}

/**
 * The API's Prometheus metrics. The outbox gauges are read from the database when
 * scraped, so they are right however many replicas share the outbox.
 */
export function createApiMetrics(
  registry: Registry,
  outbox: Pick<OutboxStore, 'backlog'>,
  logger?: Logger,
): ApiMetrics {
  const registers = [registry];
  const httpRequests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by route template, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    registers,
  });
  const httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time to answer an HTTP request',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const ordersCreated = new Counter({
    name: 'orders_created_total',
    help: 'Orders stored (idempotent replays are not counted)',
    registers,
  });

  // One query per scrape feeds both gauges; the registry collects them concurrently.
  let snapshot: Promise<OutboxBacklog | null> | null = null;
  const readStats = () => {
    snapshot ??= outbox
      .backlog()
      .catch((err: unknown) => {
        logger?.warn({ err: (err as Error).message }, 'cannot read outbox statistics');
        return null;
      })
      .finally(() => setTimeout(() => (snapshot = null), 100).unref());
    return snapshot;
  };
  new Gauge({
    name: 'outbox_backlog',
    help: 'Outbox rows not yet confirmed by the broker',
    registers,
    async collect() {
      const s = await readStats();
      if (s) this.set(s.backlog);
    },
  });
  new Gauge({
    name: 'outbox_oldest_unpublished_age_seconds',
    help: 'Age of the oldest outbox row not yet confirmed by the broker (0 when none)',
    registers,
    async collect() {
      const s = await readStats();
      if (s) this.set(s.oldestSeconds);
    },
  });

  const published = new Counter({
    name: 'outbox_published_total',
    help: 'Outbox messages confirmed by the broker and marked published',
    registers,
  });
  const failures = new Counter({
    name: 'outbox_publish_failures_total',
    help: 'Outbox publish attempts that failed, by error class',
    labelNames: ['reason'] as const,
    registers,
  });
  const latency = new Histogram({
    name: 'outbox_publish_duration_seconds',
    help: 'Time from publishing an outbox message to the broker confirm',
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const lag = new Histogram({
    name: 'outbox_lag_seconds',
    help: 'Time from storing an outbox message to marking it published after the confirm',
    buckets: LATENCY_BUCKETS,
    registers,
  });

  return {
    httpRequests,
    httpDuration,
    ordersCreated,
    relay: {
      published: (n) => published.inc(n),
      publishFailed: (reason) => failures.inc({ reason }),
      publishLatency: (s) => latency.observe(s),
      outboxLag: (s) => lag.observe(s),
    },
  };
}

/** Open GET /orders/:id/events streams of this process, read when scraped. */
export function registerStreamGauge(registry: Registry, openStreams: () => number): void {
  new Gauge({
    name: 'order_event_streams',
    help: 'Open GET /orders/:id/events streams of this process',
    registers: [registry],
    collect() {
      this.set(openStreams());
    },
  });
}
