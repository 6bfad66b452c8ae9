import {
  CHANNELS,
  EXCHANGES,
  channelConsumers,
  deliveryEvents,
  events,
  orderEventsConsumer,
} from '@notify/contracts';
import type { Channel } from '@notify/contracts';
import { declareTopology } from '@notify/messaging';
import type { TopologySpec } from '@notify/messaging';
import amqp from 'amqplib';
import type { ChannelModel, ConfirmChannel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_DEPTH_USER, brokerGrants, brokerUses } from './rabbitmq/broker-users.js';
import { loadScratchBroker } from './testing/scratch-broker.js';
import type { ScratchBroker } from './testing/scratch-broker.js';

// Loads infra/rabbitmq/definitions.json into the real broker (scratch vhost, users with
// test passwords) and shows, as each service's user, that it can do its job and is
// refused everything else. A refusal is the broker closing the channel with 403
// ACCESS_REFUSED; with publisher confirms that is how a forbidden publish surfaces.

let broker: ScratchBroker;
const connections: ChannelModel[] = [];

beforeAll(async () => {
  broker = await loadScratchBroker('perm');
});

afterAll(async () => {
  for (const c of connections) await c.close().catch(() => undefined);
  await broker?.delete();
});

async function connectAs(user: string): Promise<ChannelModel> {
  const c = await amqp.connect(broker.url(user));
  c.on('error', () => undefined);
  connections.push(c);
  return c;
}

async function channelOf(conn: ChannelModel): Promise<ConfirmChannel> {
  const ch = await conn.createConfirmChannel();
  ch.on('error', () => undefined);
  return ch;
}

function publishConfirmed(ch: ConfirmChannel, exchange: string, routingKey: string): Promise<void> {
  return new Promise((resolve, reject) => {
    ch.publish(exchange, routingKey, Buffer.from('{}'), { persistent: true }, (err) =>
      err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(),
    );
  });
}

/** Runs `action` on a fresh channel and expects the broker to refuse it: channel closed with 403. */
async function expectRefused(conn: ChannelModel, action: (ch: ConfirmChannel) => Promise<unknown>) {
  const ch = await conn.createConfirmChannel();
  const closed = new Promise<Error & { code?: number }>((resolve) => ch.once('error', resolve));
  // An allowed action completes (the confirm, consume-ok or declare-ok arrives); a refused
  // one fails because the broker closed the channel.
  const allowed = await action(ch).then(
    () => true,
    () => false,
  );
  if (allowed) {
    await ch.close().catch(() => undefined);
    expect.fail('the broker allowed it');
  }
  const error = await closed;
  expect(error.code).toBe(403);
  expect(error.message).toContain('ACCESS_REFUSED');
}

/** What the user declares on connect, as the services do it. */
function declared(user: string): TopologySpec {
  const use = brokerUses().find((u) => u.user === user);
  if (!use) throw new Error(`no broker use for ${user}`);
  return use.declares;
}

async function receiveOne(ch: ConfirmChannel, queue: string): Promise<string> {
  return new Promise((resolve, reject) => {
    ch.consume(queue, (msg) => {
      if (!msg) return;
      ch.ack(msg);
      resolve(msg.fields.routingKey);
    }).catch(reject);
  });
}

describe('the broker definitions', () => {
  it('load into RabbitMQ with every queue quorum and every user able to log in with its password', async () => {
    for (const user of broker.definitions.users) {
      const conn = await connectAs(user.name.slice(broker.vhost.length + 1));
      expect(conn).toBeDefined();
    }
    expect(broker.definitions.queues.every((q) => q.arguments['x-queue-type'] === 'quorum')).toBe(true);
  });
});

describe('the order API user', () => {
  it('re-declares the whole topology, publishes each channel message with confirms and reads a dead-letter queue', async () => {
    const conn = await connectAs('order-api');
    const ch = await channelOf(conn);
    await declareTopology(ch, declared('order-api'));
    for (const c of CHANNELS) await publishConfirmed(ch, EXCHANGES.notification.name, c);
    await publishConfirmed(ch, EXCHANGES.notification.name, 'no-such-channel');
    await ch.get(channelConsumers.email.deadLetterQueue.name);
    const received = receiveOne(ch, orderEventsConsumer.queue.name);
    const channelService = await channelOf(await connectAs('email'));
    await publishConfirmed(channelService, EXCHANGES.events.name, events.emailSent.routingKey);
    expect(await received).toBe(events.emailSent.routingKey);
    // An operator's dead-letter replay publishes the message to `notification` again.
    await publishConfirmed(ch, EXCHANGES.notification.name, 'email');
  });

  it.each(CHANNELS)('cannot consume the %s work queue', async (c) => {
    const conn = await connectAs('order-api');
    await expectRefused(conn, (ch) => ch.consume(channelConsumers[c].queue.name, () => undefined));
  });

  it('cannot publish outcome events to order.events', async () => {
    const conn = await connectAs('order-api');
    await expectRefused(conn, (ch) =>
      publishConfirmed(ch, EXCHANGES.events.name, events.paymentAuthorized.routingKey),
    );
  });

  it('cannot declare a queue of its own invention', async () => {
    const conn = await connectAs('order-api');
    await expectRefused(conn, (ch) => ch.assertQueue('order-api.scratch', { durable: true }));
  });
});

describe.each(CHANNELS)('the %s service user', (channel: Channel) => {
  const topology = channelConsumers[channel];
  const others = CHANNELS.filter((c) => c !== channel);
  const grant = brokerGrants().find((g) => g.user === channel);
  const ownEvents = Object.values(events).filter((e) =>
    grant?.eventRoutingKeys?.write.includes(e.routingKey),
  );

  it('declares its topology, consumes its queue, retries, dead-letters and publishes its events with confirms', async () => {
    const conn = await connectAs(channel);
    const ch = await channelOf(conn);
    await declareTopology(ch, declared(channel));

    const api = await channelOf(await connectAs('order-api'));
    const received = receiveOne(ch, topology.queue.name);
    await publishConfirmed(api, EXCHANGES.notification.name, channel);
    expect(await received).toBe(channel);

    await publishConfirmed(ch, EXCHANGES.retry.name, topology.retryRoutingKey(1));
    await publishConfirmed(ch, EXCHANGES.deadLetter.name, topology.deadLetterRoutingKey);
    await publishConfirmed(ch, EXCHANGES.events.name, deliveryEvents[channel].retrying.routingKey);
    await publishConfirmed(ch, EXCHANGES.events.name, deliveryEvents[channel].deadLettered.routingKey);
    expect(ownEvents.length).toBeGreaterThan(0);
    for (const e of ownEvents) await publishConfirmed(ch, EXCHANGES.events.name, e.routingKey);
  });

  it('cannot publish to notification', async () => {
    const conn = await connectAs(channel);
    await expectRefused(conn, (ch) => publishConfirmed(ch, EXCHANGES.notification.name, channel));
  });

  it("cannot consume another service's queue or any dead-letter queue", async () => {
    const conn = await connectAs(channel);
    const other = others[0] as Channel;
    await expectRefused(conn, (ch) => ch.consume(channelConsumers[other].queue.name, () => undefined));
    await expectRefused(conn, (ch) => ch.get(topology.deadLetterQueue.name));
    await expectRefused(conn, (ch) => ch.consume(orderEventsConsumer.queue.name, () => undefined));
  });

  it("cannot publish another service's outcome event", async () => {
    const conn = await connectAs(channel);
    const foreign = Object.values(events).find((e) => !ownEvents.includes(e));
    expect(foreign).toBeDefined();
    await expectRefused(conn, (ch) => publishConfirmed(ch, EXCHANGES.events.name, foreign!.routingKey));
  });

  it("cannot declare or bind another service's queues", async () => {
    const conn = await connectAs(channel);
    const other = channelConsumers[others[0] as Channel];
    await expectRefused(conn, (ch) =>
      ch.assertQueue(other.queue.name, { durable: true, arguments: other.queue.arguments }),
    );
    await expectRefused(conn, (ch) => ch.bindQueue(other.queue.name, EXCHANGES.notification.name, channel));
  });
});

describe('the KEDA user', () => {
  it('reads the depth of every consumer queue', async () => {
    const ch = await channelOf(await connectAs(QUEUE_DEPTH_USER));
    for (const c of CHANNELS) {
      const q = await ch.checkQueue(channelConsumers[c].queue.name);
      expect(q.messageCount).toBeGreaterThanOrEqual(0);
    }
  });

  it('can neither consume nor publish', async () => {
    const conn = await connectAs(QUEUE_DEPTH_USER);
    await expectRefused(conn, (ch) => ch.consume(channelConsumers.email.queue.name, () => undefined));
    await expectRefused(conn, (ch) => publishConfirmed(ch, EXCHANGES.notification.name, 'email'));
  });
});
