import { EXCHANGES } from '@notify/contracts';
import { Broker, Publisher } from '@notify/messaging';
import { waitFor } from '@notify/messaging/testing';
import type { PeekedMessage, TestVhost } from '@notify/messaging/testing';

/**
 * What the order API would see of a service under test: a queue of the test's own bound
 * to every event on order.events, and a publisher standing in for the API's outbox.
 */
export interface OrderEventsTap {
  readonly publisher: Publisher;
  /** Events for one order and routing key, once at least `count` arrived. */
  eventsFor(orderId: string, routingKey: string, count?: number): Promise<PeekedMessage[]>;
  close(): Promise<void>;
}

const TAP_QUEUE = 'test.order-events';

export async function tapOrderEvents(vh: TestVhost, connectionName: string): Promise<OrderEventsTap> {
  const broker = await Broker.connect({
    url: vh.url,
    connectionName,
    topology: {
      exchanges: [EXCHANGES.events],
      queues: [{ name: TAP_QUEUE, arguments: {} }],
      bindings: [{ exchange: EXCHANGES.events.name, queue: TAP_QUEUE, routingKey: '#' }],
    },
  });
  await broker.waitUntilConnected();
  const publisher = new Publisher(broker);
  const seen: PeekedMessage[] = [];
  return {
    publisher,
    eventsFor(orderId, routingKey, count = 1) {
      return waitFor(
        async () => {
          seen.push(...(await vh.take(TAP_QUEUE, 500)));
          const mine = seen.filter(
            (m) =>
              m.routing_key === routingKey &&
              (JSON.parse(m.payload) as { orderId: string }).orderId === orderId,
          );
          return mine.length >= count ? mine : null;
        },
        { what: `${count} ${routingKey} event(s) for ${orderId}`, timeoutMs: 30_000 },
      );
    },
    async close() {
      await publisher.close();
      await broker.close();
    },
  };
}
