// The package side of the throughput benchmarks: N messages published over the five
// channel queues with confirms (at most WINDOW unconfirmed), then consumed with acks.
import { randomUUID } from 'node:crypto';
import { CHANNELS, channelConsumers, exampleMessages, notifications } from '@notify/contracts';
import { Broker, Consumer, Publisher } from '../src/index.js';

export async function pool(total: number, width: number, task: (i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < total) await task(next++);
    }),
  );
}

export async function packagePublish(url: string, N: number, WINDOW: number): Promise<number> {
  const broker = await Broker.connect({ url, connectionName: 'bench-publisher' });
  await broker.waitUntilConnected();
  const publisher = new Publisher(broker);
  const t0 = performance.now();
  await pool(N, WINDOW, async (i) => {
    const c = CHANNELS[i % CHANNELS.length]!;
    await publisher.publish(notifications[c], exampleMessages[c] as never, {
      messageId: randomUUID(),
      correlationId: exampleMessages[c].orderId,
    });
  });
  const secs = (performance.now() - t0) / 1000;
  await publisher.close();
  await broker.close();
  return N / secs;
}

export async function packageConsume(url: string, N: number): Promise<number> {
  const broker = await Broker.connect({ url, connectionName: 'bench-consumer' });
  await broker.waitUntilConnected();
  const publisher = new Publisher(broker);
  let count = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const consumers = CHANNELS.map(
    (c) =>
      new Consumer(broker, {
        topology: channelConsumers[c],
        contracts: [notifications[c]],
        publisher,
        prefetch: 100,
        handler: async () => {
          if (++count === N) done();
        },
      }),
  );
  const t0 = performance.now();
  await Promise.all(consumers.map((c) => c.start()));
  await finished;
  const secs = (performance.now() - t0) / 1000;
  await Promise.all(consumers.map((c) => c.stop()));
  await publisher.close();
  await broker.close();
  return N / secs;
}
