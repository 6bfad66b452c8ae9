import {
  channelConsumers,
  CHANNELS,
  EXCHANGES,
  fullTopology,
  orderEventsConsumer,
  UNROUTABLE_QUEUE,
} from '@notify/contracts';
import type { ConsumerTopology } from '@notify/contracts';
import { DeadLetterDrain, identityTrust } from '@notify/messaging';
import type { CapturedLetter, TopologySpec } from '@notify/messaging';
import { Counter, Gauge } from '@notify/service-kit';
import type { Registry, ServiceConsumer } from '@notify/service-kit';
import type { Logger } from 'pino';
import type { ParkedLetters } from './parked-letters.js';

/**
 * Where parked letters come from, by the name the API shows them under: each channel's
 * dead-letter queue, the API's own event queue's, and the unroutable catch-all.
 */
export const PARK_SOURCES = [...CHANNELS, 'order-api', 'unroutable'] as const;
export type ParkSource = (typeof PARK_SOURCES)[number];

export interface SourceInfo {
  readonly queue: string;
  /** The consumer whose dead letters these are; null for unroutable messages. */
  readonly topology: ConsumerTopology | null;
}

export function sourceInfo(source: ParkSource): SourceInfo {
  if (source === 'unroutable') return { queue: UNROUTABLE_QUEUE.name, topology: null };
  const topology = source === 'order-api' ? orderEventsConsumer : channelConsumers[source];
  return { queue: topology.deadLetterQueue.name, topology };
}

/**
 * Where a replayed letter goes: a dead letter back to its work queue alone (through the
 * consumer's own retry exchange), an unroutable message to `notification` with its
 * routing key, which reaches its queue once the binding is back (and the unroutable queue
 * again, to be parked again, while it is not).
 */
export function replayTarget(
  source: ParkSource,
  letter: { readonly routingKey: string },
): { exchange: string; routingKey: string } {
  const { topology } = sourceInfo(source);
  if (!topology) return { exchange: EXCHANGES.notification.name, routingKey: letter.routingKey };
  return { exchange: topology.retryExchange.name, routingKey: topology.workRoutingKey };
}

export interface ParkMetrics {
  parked(letter: CapturedLetter): void;
}

/** Routing keys named in the unroutable metric; anything else is counted as `other`, so a flood of made-up keys stays one series. */
const KNOWN_KEYS: ReadonlySet<string> = new Set(CHANNELS);

/** Counters of what was parked, and a gauge of what is parked now (read from the table when scraped). */
export function createParkMetrics(
  registry: Registry,
  letters: Pick<ParkedLetters, 'counts' | 'maxLetters'>,
  logger?: Logger,
): ParkMetrics {
  const registers = [registry];
  const limit = new Gauge({
    name: 'parked_letters_limit',
    help: 'The most letters the park keeps (PARKED_LETTERS_MAX); at sum(parked_letters) the drains stop and letters wait in the broker',
    registers,
  });
  limit.set(letters.maxLetters);
  const parkedTotal = new Counter({
    name: 'dead_letters_parked_total',
    help: 'Messages moved from a dead-letter or the unroutable queue into the park, by queue and reason',
    labelNames: ['queue', 'reason'] as const,
    registers,
  });
  const unroutable = new Counter({
    name: 'unroutable_messages_total',
    help: 'Messages published to `notification` that no queue was bound for, by routing key',
    labelNames: ['routing_key'] as const,
    registers,
  });
  new Gauge({
    name: 'parked_letters',
    help: 'Messages in the park (dead letters and unroutable), by the queue they came from',
    labelNames: ['queue'] as const,
    registers,
    async collect() {
      try {
        const counts = await letters.counts();
        this.reset();
        for (const source of PARK_SOURCES) {
          const { queue } = sourceInfo(source);
          this.set({ queue }, counts.get(queue) ?? 0);
        }
      } catch (err) {
        logger?.warn({ err: (err as Error).message }, 'cannot read parked letter counts');
      }
    },
  });
  return {
    parked(letter) {
      parkedTotal.inc({ queue: letter.queue, reason: letter.reason.slice(0, 64) });
      if (letter.queue === UNROUTABLE_QUEUE.name) {
        unroutable.inc({ routing_key: KNOWN_KEYS.has(letter.routingKey) ? letter.routingKey : 'other' });
      }
    },
  };
}

/**
 * One drain per source: consumes the queue, parks every message and acks it once its
 * row is committed. An unroutable message is never silent: besides its row and the
 * metric, a warning names the routing key no queue was bound for.
 */
export function parkDrains(deps: {
  readonly letters: Pick<ParkedLetters, 'park'>;
  readonly metrics: ParkMetrics;
}): ServiceConsumer[] {
  return PARK_SOURCES.map((source) => {
    const { queue, topology } = sourceInfo(source);
    return {
      queue,
      create(runtime) {
        const log = runtime.logger.child({ component: 'park', queue });
        const drain = new DeadLetterDrain(runtime.broker, {
          queue,
          unroutable: topology === null,
          // The consumer's own runner dead-letters as this connection's user on a local
          // run; a deployment with one user per service names them in identity.ts' terms.
          ...(topology ? { trust: identityTrust(topology, [runtime.broker.user]) } : {}),
          ...(runtime.pause ? { pause: runtime.pause } : {}),
          logger: runtime.logger,
          park: async (letter) => {
            const fresh = await deps.letters.park(letter);
            if (!fresh) return;
            deps.metrics.parked(letter);
            const about = { messageId: letter.messageId, orderId: letter.properties.correlationId };
            if (topology === null) {
              log.warn(
                { ...about, routingKey: letter.routingKey },
                `unroutable: no queue is bound to "${letter.routingKey}" on ${letter.exchange}; message parked`,
              );
            } else {
              log.info({ ...about, reason: letter.reason }, 'dead letter parked');
            }
          },
        });
        return {
          queue,
          get isConsuming() {
            return drain.isConsuming;
          },
          get status() {
            return drain.status;
          },
          get active() {
            return drain.active;
          },
          async start() {
            // Its own queue, even when this process runs no status consumer to declare it.
            await runtime.broker.addTopology(sourceTopology(source));
            await drain.start();
          },
          waitUntilConsuming: (timeoutMs) => drain.waitUntilConsuming(timeoutMs),
          stop: (timeoutMs) => drain.stop(timeoutMs),
        };
      },
    };
  });
}

/** The queue a source is drained from, its exchange and their binding. */
function sourceTopology(source: ParkSource): TopologySpec {
  const { queue, topology } = sourceInfo(source);
  const all = fullTopology();
  const exchange = topology ? topology.deadLetterExchange.name : EXCHANGES.unroutable.name;
  return {
    exchanges: all.exchanges.filter((e) => e.name === exchange),
    queues: all.queues.filter((q) => q.name === queue),
    bindings: all.bindings.filter((b) => b.queue === queue),
  };
}
