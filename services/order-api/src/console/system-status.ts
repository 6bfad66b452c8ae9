import { CHANNELS, channelConsumers, orderEventsConsumer } from '@notify/contracts';
import type { Channel, ConsumerTopology } from '@notify/contracts';
import type { BrokerManagement, ManagementAnswer } from './broker-management.js';
import { counterTotal } from './prometheus-text.js';
import type { QueueCount, QueueProbe } from './queue-probe.js';
import { RateTracker } from './rate-tracker.js';
import { unreachableNote } from './service-ops.js';
import type { ReadinessReport, ServiceOps } from './service-ops.js';

export const SYSTEM_SERVICES = ['order-api', ...CHANNELS] as const;
export type SystemService = (typeof SYSTEM_SERVICES)[number];

export const FIGURE_SOURCES = ['amqp', 'metrics', 'management', 'park'] as const;
export type FigureSource = (typeof FIGURE_SOURCES)[number];

/** One number of the System view and where it came from; null with a note when that source could not say. */
export interface Figure {
  readonly value: number | null;
  readonly source: FigureSource;
  readonly note: string | null;
}

export interface ServiceStatus {
  readonly service: SystemService;
  /** The queue the service consumes. */
  readonly queue: string;
  readonly readiness: {
    readonly status: ReadinessReport['status'] | 'unknown';
    readonly checks: Readonly<Record<string, boolean>>;
    readonly source: 'readyz';
    readonly note: string | null;
  };
  /** Ready messages in the work queue. */
  readonly depth: Figure;
  readonly consumers: Figure;
  /** Messages settled per second (any outcome), from the service's own counter. */
  readonly messagesPerSecond: Figure;
  /** Messages waiting in the retry holding queues. */
  readonly retrying: Figure;
  /**
   * Dead letters parked in the order API's database (parked_letters): the drain moves every
   * dead letter out of the broker, so the dead-letter queue itself is empty.
   */
  readonly deadLetters: Figure;
  /** The broker's own rates for the work queue. */
  readonly brokerRates: { readonly publish: Figure; readonly deliver: Figure; readonly ack: Figure };
}

export interface SourceState {
  readonly available: boolean;
  readonly note: string | null;
}

export interface SystemStatus {
  readonly sampledAt: string;
  readonly sources: Readonly<Record<FigureSource | 'readyz', SourceState>>;
  readonly services: ServiceStatus[];
}

/** The counter every consumer runner keeps (packages/service-kit/src/metrics.ts). */
export const PROCESSED_COUNTER = 'messages_processed_total';

function topologyOf(service: SystemService): ConsumerTopology {
  return service === 'order-api' ? orderEventsConsumer : channelConsumers[service as Channel];
}

const figure = (source: FigureSource, value: number | null, note: string | null = null): Figure => ({
  value,
  source,
  note: value === null ? (note ?? 'not available') : null,
});

function sum(counts: ReadonlyMap<string, QueueCount | null>, queues: readonly string[]): number | null {
  let total = 0;
  for (const q of queues) {
    const c = counts.get(q);
    if (!c) return null;
    total += c.messages;
  }
  return total;
}

function sourceState(problems: string[]): SourceState {
  return { available: problems.length === 0, note: problems.length ? problems.join('; ') : null };
}

export interface SystemStatusOptions {
  readonly queues: QueueProbe;
  readonly ops: Readonly<Record<SystemService, ServiceOps>>;
  readonly management: Pick<BrokerManagement, 'rates'>;
  /** Parked letters per queue they came from (the park, services/order-api/src/dead-letters). */
  readonly parked: { counts(): Promise<ReadonlyMap<string, number>> };
  /** Answers younger than this are shared between callers (default 1 s). */
  readonly maxAgeMs?: number;
  readonly now?: () => number;
}

/**
 * The System view's figures for every service, each from the source that knows it:
 * queue depths and consumers from the broker over AMQP, readiness and processed
 * counts from the services' own /readyz and /metrics, rates from the management API
 * where it is configured. Looks that arrive within `maxAgeMs` of each other share one
 * answer, so many open consoles cost the services no more than one.
 */
export class SystemStatusReader {
  private readonly rates = new RateTracker();
  private last: { at: number; status: SystemStatus } | null = null;
  private inFlight: Promise<SystemStatus> | null = null;
  private readonly now: () => number;

  constructor(private readonly options: SystemStatusOptions) {
    this.now = options.now ?? Date.now;
  }

  read(): Promise<SystemStatus> {
    const maxAge = this.options.maxAgeMs ?? 1_000;
    if (this.last && this.now() - this.last.at < maxAge) return Promise.resolve(this.last.status);
    this.inFlight ??= this.collect().finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  private async collect(): Promise<SystemStatus> {
    const topologies = SYSTEM_SERVICES.map((s) => ({ service: s, topology: topologyOf(s) }));
    const allQueues = topologies.flatMap(({ topology: t }) => [
      t.queue.name,
      ...t.retryQueues.map((q) => q.name),
    ]);
    const [counts, ops, management, parked] = await Promise.all([
      this.options.queues.count(allQueues).then(
        (c) => ({ ok: true as const, counts: c }),
        (err: unknown) => ({ ok: false as const, note: `the broker over AMQP: ${unreachableNote(err)}` }),
      ),
      Promise.all(SYSTEM_SERVICES.map((s) => this.readOps(s))),
      this.options.management.rates(),
      this.options.parked.counts().then(
        (c) => ({ ok: true as const, counts: c }),
        (err: unknown) => ({ ok: false as const, note: `the park (PostgreSQL): ${unreachableNote(err)}` }),
      ),
    ]);
    const at = this.now();
    const problems = {
      amqp: [] as string[],
      readyz: [] as string[],
      metrics: [] as string[],
      park: [] as string[],
    };
    if (!counts.ok) problems.amqp.push(counts.note);
    if (!parked.ok) problems.park.push(parked.note);

    const services = topologies.map(({ service, topology }, i): ServiceStatus => {
      const o = ops[i]!;
      if (o.readinessNote) problems.readyz.push(`${service}: ${o.readinessNote}`);
      if (o.metricsNote) problems.metrics.push(`${service}: ${o.metricsNote}`);
      const amqp = (value: number | null, missing: string) =>
        figure('amqp', value, counts.ok ? missing : counts.note);
      const work = counts.ok ? counts.counts.get(topology.queue.name) : undefined;
      const processed =
        o.metrics === null
          ? null
          : counterTotal(o.metrics, PROCESSED_COUNTER, { queue: topology.queue.name });
      let perSecond: Figure;
      if (o.metrics === null) {
        this.rates.forget(service);
        perSecond = figure('metrics', null, o.metricsNote);
      } else {
        const rate = this.rates.record(service, at, processed ?? 0);
        perSecond = figure('metrics', rate, 'needs a second sample a second or more later');
      }
      return {
        service,
        queue: topology.queue.name,
        readiness: {
          status: o.readiness?.status ?? 'unknown',
          checks: o.readiness?.checks ?? {},
          source: 'readyz',
          note: o.readinessNote,
        },
        depth: amqp(work?.messages ?? null, 'the queue does not exist'),
        consumers: amqp(work?.consumers ?? null, 'the queue does not exist'),
        messagesPerSecond: perSecond,
        retrying: amqp(
          counts.ok
            ? sum(
                counts.counts,
                topology.retryQueues.map((q) => q.name),
              )
            : null,
          'a retry queue does not exist',
        ),
        deadLetters: parked.ok
          ? figure('park', parked.counts.get(topology.deadLetterQueue.name) ?? 0)
          : figure('park', null, parked.note),
        brokerRates: brokerRates(management, topology.queue.name),
      };
    });
    const status: SystemStatus = {
      sampledAt: new Date(at).toISOString(),
      sources: {
        amqp: sourceState(problems.amqp),
        readyz: sourceState(problems.readyz),
        metrics: sourceState(problems.metrics),
        park: sourceState(problems.park),
        management: management.available
          ? { available: true, note: null }
          : { available: false, note: management.note },
      },
      services,
    };
    this.last = { at, status };
    return status;
  }

  private async readOps(service: SystemService) {
    const ops = this.options.ops[service];
    const [readiness, metrics] = await Promise.allSettled([ops.readiness(), ops.metrics()]);
    return {
      readiness: readiness.status === 'fulfilled' ? readiness.value : null,
      readinessNote: readiness.status === 'rejected' ? unreachableNote(readiness.reason) : null,
      metrics: metrics.status === 'fulfilled' ? metrics.value : null,
      metricsNote: metrics.status === 'rejected' ? unreachableNote(metrics.reason) : null,
    };
  }
}

function brokerRates(management: ManagementAnswer, queue: string): ServiceStatus['brokerRates'] {
  if (!management.available) {
    const none = figure('management', null, management.note);
    return { publish: none, deliver: none, ack: none };
  }
  const r = management.rates.get(queue);
  const missing = r ? 'no messages seen yet' : 'the management API does not list this queue';
  return {
    publish: figure('management', r?.publish ?? null, missing),
    deliver: figure('management', r?.deliver ?? null, missing),
    ack: figure('management', r?.ack ?? null, missing),
  };
}
