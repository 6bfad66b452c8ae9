import { fullTopology, orderEventsConsumer } from '@notify/contracts';
import type { TopologySpec } from '@notify/messaging';

/**
 * What the API declares on the broker: every exchange and each channel's queues, so a
 * message published before a consumer service ever started still waits in its queue.
 * The outcome-event queue belongs to the status consumer, which declares it itself.
 */
export function publisherTopology(): TopologySpec {
  const full = fullTopology();
  const own = new Set([
    orderEventsConsumer.queue.name,
    orderEventsConsumer.deadLetterQueue.name,
    ...orderEventsConsumer.retryQueues.map((q) => q.name),
  ]);
  return {
    exchanges: full.exchanges,
    queues: full.queues.filter((q) => !own.has(q.name)),
    bindings: full.bindings.filter((b) => !own.has(b.queue)),
  };
}
