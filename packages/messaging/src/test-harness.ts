import { fullTopology } from '@notify/contracts';
import amqplib from 'amqplib';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { Broker } from './broker.js';
import { Publisher } from './publisher.js';
import { createTestVhost } from './testing/index.js';
import type { TestVhost } from './testing/index.js';

export interface BrokerHarness {
  /** The suite's own vhost (set once beforeAll ran). */
  readonly vh: TestVhost;
  /** Runs after the current test, last registered first. */
  cleanup(fn: () => Promise<unknown>): void;
  /** A connected broker with the full topology and a publisher, both closed after the test. */
  connect(name: string): Promise<{ broker: Broker; publisher: Publisher }>;
  /**
   * Messages ready for delivery in `queue` now, by the broker's own count: exact, unlike
   * the management API's sampled figures, and without what another reader holds.
   */
  ready(queue: string): Promise<number>;
}

/** Registers the suite's hooks: its own vhost, per-test cleanups, the vhost deleted at the end. */
export function brokerHarness(prefix: string): BrokerHarness {
  let vh: TestVhost | undefined;
  const cleanups: (() => Promise<unknown>)[] = [];
  beforeAll(async () => {
    vh = await createTestVhost(prefix);
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  });
  afterAll(async () => {
    await vh?.delete();
  });
  const harness: BrokerHarness = {
    get vh() {
      if (!vh) throw new Error('the test vhost is created in beforeAll');
      return vh;
    },
    cleanup(fn) {
      cleanups.push(fn);
    },
    async connect(name) {
      const broker = await Broker.connect({
        url: harness.vh.url,
        connectionName: name,
        topology: fullTopology(),
      });
      cleanups.push(() => broker.close());
      await broker.waitUntilConnected();
      const publisher = new Publisher(broker, { timeoutMs: 10_000 });
      cleanups.push(() => publisher.close());
      return { broker, publisher };
    },
    async ready(queue) {
      const conn = await amqplib.connect(harness.vh.url);
      try {
        const ch = await conn.createChannel();
        return (await ch.checkQueue(queue)).messageCount;
      } finally {
        await conn.close().catch(() => undefined);
      }
    },
  };
  return harness;
}
