import type { ConsumeMessage } from 'amqplib';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeSource } from './fake-connection.js';
import { QueueSubscription } from './queue-subscription.js';
import type { DeliveryHandle } from './queue-subscription.js';
import { waitFor } from './testing/index.js';

interface Received {
  readonly msg: ConsumeMessage;
  readonly handle: DeliveryHandle;
  finish(): void;
  fail(err: Error): void;
}

function setup(prefetch = 7) {
  const source = new FakeSource();
  const received: Received[] = [];
  const subscription = new QueueSubscription(source, {
    queue: 'email',
    prefetch,
    reattachDelayMs: 5,
    onMessage: (msg, handle) =>
      new Promise<void>((resolve, reject) => {
        received.push({ msg, handle, finish: resolve, fail: reject });
      }),
  });
  stops.push(async () => {
    for (const r of received) r.finish();
    await subscription.stop(1_000);
  });
  return { source, received, subscription };
}

/** A subscription already consuming on a connected source. */
async function consuming(prefetch?: number) {
  const parts = setup(prefetch);
  const conn = parts.source.connect();
  await parts.subscription.start();
  return { ...parts, conn };
}

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

describe('queue subscription', () => {
  it('consumes the queue on a channel of its own with the prefetch window, and acks on that channel', async () => {
    const { conn, received, subscription } = await consuming(7);
    expect(subscription.isConsuming).toBe(true);
    expect(conn.channels).toHaveLength(1);
    expect(conn.last.prefetchCount).toBe(7);
    const msg = conn.last.deliver(1);
    expect(received.map((r) => r.msg)).toEqual([msg]);
    expect(subscription.active).toBe(1);
    received[0]!.handle.ack();
    received[0]!.finish();
    await waitFor(() => subscription.active === 0, { what: 'delivery settled' });
    expect(conn.last.acked).toEqual([msg]);
  });

  it('requeues on the channel the message came from', async () => {
    const { conn, received } = await consuming();
    const msg = conn.last.deliver(1);
    received[0]!.handle.requeue();
    expect(conn.last.requeued).toEqual([msg]);
  });

  it('waits for a connection before consuming, then consumes once it comes', async () => {
    const { source, subscription } = setup();
    await subscription.start();
    expect(subscription.isConsuming).toBe(false);
    const conn = source.connect();
    await subscription.waitUntilConsuming(10_000);
    expect(conn.last.consuming).toBe(true);
  });

  it('consumes again on a new channel after a reconnect; settling a message of the lost channel is harmless', async () => {
    const { source, received, subscription } = setup();
    const first = source.connect();
    await subscription.start();
    first.last.deliver(1);
    source.disconnect();
    expect(subscription.isConsuming).toBe(false);
    const second = source.connect();
    await subscription.waitUntilConsuming(10_000);
    expect(second.last.consuming).toBe(true);
    expect(() => received[0]!.handle.ack()).not.toThrow();
    const msg = second.last.deliver(2);
    received[1]!.handle.ack();
    expect(second.last.acked).toEqual([msg]);
  });

  it('after the broker cancels it, consumes again on the same channel, keeping the messages it holds', async () => {
    const { conn, received, subscription } = await consuming();
    const held = conn.last.deliver(1);
    conn.last.cancelByBroker();
    expect(subscription.isConsuming).toBe(false);
    await subscription.waitUntilConsuming(10_000);
    expect(conn.channels).toHaveLength(1);
    expect(conn.last.consuming).toBe(true);
    received[0]!.handle.ack();
    expect(conn.last.acked).toEqual([held]);
  });

  it('opens a new channel when the broker closes its channel', async () => {
    const { conn, subscription } = await consuming();
    conn.last.closeByBroker();
    expect(subscription.isConsuming).toBe(false);
    await subscription.waitUntilConsuming(10_000);
    expect(conn.channels).toHaveLength(2);
    expect(conn.last.consuming).toBe(true);
  });

  it('keeps trying when a channel cannot be opened', async () => {
    const { source, subscription } = setup();
    const conn = source.connect();
    conn.failNext = 2;
    await subscription.start();
    expect(subscription.isConsuming).toBe(false);
    await subscription.waitUntilConsuming(10_000);
    expect(conn.channels).toHaveLength(1);
    expect(conn.failNext).toBe(0);
  });

  it('stop cancels the consumer, waits for deliveries in flight, then closes the channel', async () => {
    const { conn, received, subscription } = await consuming();
    conn.last.deliver(1);
    conn.last.deliver(2);
    let stopped = false;
    const stopping = subscription.stop(30_000).then(() => (stopped = true));
    await waitFor(() => conn.last.cancelled.length === 1, { what: 'consumer cancelled' });
    expect(subscription.isConsuming).toBe(false);
    received[0]!.finish();
    received[1]!.handle.ack();
    received[1]!.fail(new Error('handler blew up'));
    await stopping;
    expect(stopped).toBe(true);
    expect(conn.last.acked).toHaveLength(1);
    expect(conn.last.closed).toBe(true);
    expect(subscription.active).toBe(0);
  });

  it('does not consume again after stop, whatever the broker does', async () => {
    const { source, subscription } = setup();
    source.connect();
    await subscription.start();
    await subscription.stop(1_000);
    const conn = source.connect();
    expect(conn.channels).toHaveLength(0);
    await expect(subscription.waitUntilConsuming(10_000)).rejects.toThrow('stopped');
  });

  it('waitUntilConsuming gives up after its deadline when no connection comes', async () => {
    const { subscription } = setup();
    await subscription.start();
    await expect(subscription.waitUntilConsuming(50)).rejects.toThrow('not attached within 50 ms');
  });
});
