import {
  CHANNELS,
  EXCHANGES,
  UNROUTABLE_QUEUE,
  channelConsumers,
  deliveryEvents,
  events,
  fullTopology,
  orderEventsConsumer,
  preferenceConsumers,
} from '@notify/contracts';
import type { Channel } from '@notify/contracts';
import amqp from 'amqplib';
import type { Channel as AmqpChannel, ChannelModel, ConfirmChannel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_DEPTH_USER, brokerGrants, eventRoutingKeysOf } from './rabbitmq/broker-users.js';
import { loadScratchBroker } from './testing/scratch-broker.js';
import type { ScratchBroker } from './testing/scratch-broker.js';

// Loads infra/rabbitmq/definitions.json into the real broker (a scratch vhost, its users
// renamed for this run and given test passwords) and shows, as each user, that it can do
// its job and that every other act is refused or reaches nothing. A refusal is the broker
// closing the channel: 403 ACCESS_REFUSED for a permission, 406 PRECONDITION_FAILED for a
// user-id that is not the connection's user. With publisher confirms that is how a
// forbidden publish surfaces. Runs against whichever broker AMQP_URL and
// RABBITMQ_MANAGEMENT_URL name (tools/rabbitmq4/README.md: also RabbitMQ 4).

const topology = fullTopology();
const QUEUES = topology.queues.map((q) => q.name);
const ALL_EVENT_KEYS = [
  ...Object.values(events).map((e) => e.routingKey),
  ...CHANNELS.flatMap((c) => [
    deliveryEvents[c].retrying.routingKey,
    deliveryEvents[c].deadLettered.routingKey,
  ]),
];
/** Every routing key that could lead anywhere: queue names, binding keys, event keys, wildcards. */
const ROUTING_KEYS = [
  ...new Set([
    ...QUEUES,
    ...topology.bindings.map((b) => b.routingKey),
    ...ALL_EVENT_KEYS,
    '#',
    '*',
    '',
    'x',
  ]),
];
const USERS = brokerGrants().map((g) => g.user);

let broker: ScratchBroker;
let admin: ChannelModel;
const connections: ChannelModel[] = [];

beforeAll(async () => {
  broker = await loadScratchBroker('perm');
  admin = await amqp.connect(broker.adminUrl);
  admin.on('error', () => undefined);
});

afterAll(async () => {
  for (const c of connections) await c.close().catch(() => undefined);
  await admin?.close().catch(() => undefined);
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

function publishConfirmed(
  ch: ConfirmChannel,
  exchange: string,
  routingKey: string,
  options: amqp.Options.Publish = {},
): Promise<void> {
  return new Promise((resolve, reject) => {
    ch.publish(exchange, routingKey, Buffer.from('{}'), { persistent: true, ...options }, (err) =>
      err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(),
    );
  });
}

type Attempt =
  { readonly allowed: true } | { readonly allowed: false; readonly code: number; readonly text: string };

/**
 * Runs `action` on a fresh channel: allowed when it completes (the confirm, consume-ok or
 * declare-ok arrives), refused when the broker closes the channel instead.
 */
async function attempt(
  conn: ChannelModel,
  action: (ch: ConfirmChannel) => Promise<unknown>,
): Promise<Attempt> {
  const ch = await conn.createConfirmChannel();
  const closed = new Promise<Error & { code?: number }>((resolve) => ch.once('error', resolve));
  const ok = await action(ch).then(
    () => true,
    () => false,
  );
  if (ok) {
    await ch.close().catch(() => undefined);
    return { allowed: true };
  }
  const error = await closed;
  return { allowed: false, code: error.code ?? 0, text: error.message };
}

async function expectRefused(
  conn: ChannelModel,
  what: string,
  action: (ch: ConfirmChannel) => Promise<unknown>,
  code = 403,
): Promise<void> {
  const result = await attempt(conn, action);
  expect(result, what).toMatchObject({ allowed: false, code });
}

/** Takes every message out of every queue of the topology, as the test's own user. */
async function drainAll(): Promise<Map<string, string[]>> {
  const ch: AmqpChannel = await admin.createChannel();
  const found = new Map<string, string[]>();
  try {
    for (const q of QUEUES) {
      for (;;) {
        const msg = await ch.get(q, { noAck: true });
        if (!msg) break;
        found.set(q, [...(found.get(q) ?? []), `${msg.fields.exchange}/${msg.fields.routingKey}`]);
      }
    }
  } finally {
    await ch.close().catch(() => undefined);
  }
  return found;
}

/** Publishes to every exchange the user may write, with every routing key; returns where the messages went. */
async function publishEverywhere(
  user: string,
): Promise<{ reached: Map<string, string[]>; confirmed: number }> {
  const grant = brokerGrants().find((g) => g.user === user)!;
  const conn = await connectAs(user);
  await drainAll();
  let confirmed = 0;
  for (const exchange of grant.write) {
    let ch = await channelOf(conn);
    for (const key of ROUTING_KEYS) {
      try {
        await publishConfirmed(ch, exchange, key);
        confirmed++;
      } catch {
        // Refused (a foreign event key on order.events): the broker closed the channel.
        ch = await channelOf(conn);
      }
    }
    await ch.close().catch(() => undefined);
  }
  return { reached: await drainAll(), confirmed };
}

async function receiveOne(ch: AmqpChannel, queue: string): Promise<string> {
  return new Promise((resolve, reject) => {
    ch.consume(queue, (msg) => {
      if (!msg) return;
      ch.ack(msg);
      resolve(msg.fields.routingKey);
    }).catch(reject);
  });
}

/** What a user must not be able to do whoever it is: configure, bind, or use the default and built-in exchanges. */
async function expectNoTopologyChanges(user: string, ownQueue: string | undefined): Promise<void> {
  const conn = await connectAs(user);
  const grant = brokerGrants().find((g) => g.user === user)!;
  const shared = [EXCHANGES.notification, EXCHANGES.events, EXCHANGES.unroutable];
  for (const e of shared) {
    await expectRefused(conn, `declare ${e.name}`, (ch) =>
      ch.assertExchange(e.name, e.type, { durable: true, arguments: e.arguments }),
    );
    await expectRefused(conn, `delete ${e.name}`, (ch) => ch.deleteExchange(e.name));
  }
  for (const e of topology.exchanges)
    await expectRefused(conn, `delete ${e.name}`, (ch) => ch.deleteExchange(e.name));
  for (const q of [
    orderEventsConsumer.queue.name,
    channelConsumers.payment.queue.name,
    UNROUTABLE_QUEUE.name,
  ])
    await expectRefused(conn, `delete ${q}`, (ch) => ch.deleteQueue(q));
  if (ownQueue) await expectRefused(conn, `delete ${ownQueue}`, (ch) => ch.deleteQueue(ownQueue));
  await expectRefused(conn, 'declare a queue', (ch) => ch.assertQueue(`${user}.scratch`, { durable: true }));
  await expectRefused(conn, 'declare a server-named queue', (ch) => ch.assertQueue('', { exclusive: true }));
  await expectRefused(conn, 'declare an exchange', (ch) => ch.assertExchange(`${user}.scratch`, 'fanout'));

  // Binding needs read on the source exchange, which nobody has.
  const into = ownQueue ?? orderEventsConsumer.queue.name;
  for (const e of topology.exchanges)
    await expectRefused(conn, `bind ${into} to ${e.name}`, (ch) => ch.bindQueue(into, e.name, '#'));
  for (const destination of grant.write)
    for (const source of [EXCHANGES.notification.name, EXCHANGES.events.name, 'amq.topic'])
      await expectRefused(conn, `bind ${destination} to ${source}`, (ch) =>
        ch.bindExchange(destination, source, '#'),
      );
  await expectRefused(conn, `unbind ${orderEventsConsumer.queue.name}`, (ch) =>
    ch.unbindQueue(orderEventsConsumer.queue.name, EXCHANGES.events.name, '#'),
  );

  // The default exchange reaches every queue by its name; the amq.* exchanges exist in every vhost.
  for (const e of ['', 'amq.direct', 'amq.topic', 'amq.fanout', 'amq.headers', 'amq.match'])
    await expectRefused(conn, `publish to "${e}"`, (ch) =>
      publishConfirmed(ch, e, channelConsumers.payment.queue.name),
    );
  for (const e of topology.exchanges.filter((x) => !grant.write.includes(x.name)))
    await expectRefused(conn, `publish to ${e.name}`, (ch) => publishConfirmed(ch, e.name, 'payment'));
}

/** Consuming, fetching and purging every queue the user may not read is refused. */
async function expectNoForeignReads(user: string): Promise<void> {
  const conn = await connectAs(user);
  const grant = brokerGrants().find((g) => g.user === user)!;
  for (const q of QUEUES.filter((x) => !grant.read.includes(x))) {
    await expectRefused(conn, `consume ${q}`, (ch) => ch.consume(q, () => undefined));
    await expectRefused(conn, `get ${q}`, (ch) => ch.get(q));
    await expectRefused(conn, `purge ${q}`, (ch) => ch.purgeQueue(q));
  }
}

describe('the broker definitions', () => {
  it('load into RabbitMQ with every queue quorum, policies that match every queue, and every user able to log in', async () => {
    for (const user of USERS) await connectAs(user);
    expect(broker.definitions.queues.every((q) => q.arguments['x-queue-type'] === 'quorum')).toBe(true);
    const ch = await admin.createChannel();
    for (const q of QUEUES) expect((await ch.checkQueue(q)).queue).toBe(q);
    await ch.close();
  });
});

describe('the order API user', () => {
  const user = 'order-api';

  it('publishes each channel message to notification, reads its events, dead letters and unroutable notifications, replays into a retry exchange', async () => {
    await drainAll();
    const conn = await connectAs(user);
    const ch = await channelOf(conn);
    for (const c of CHANNELS)
      await publishConfirmed(ch, EXCHANGES.notification.name, c, { userId: broker.userName(user) });
    await publishConfirmed(ch, EXCHANGES.notification.name, 'no-such-channel');
    for (const c of CHANNELS)
      await publishConfirmed(ch, channelConsumers[c].retryExchange.name, channelConsumers[c].workRoutingKey);
    await publishConfirmed(
      ch,
      orderEventsConsumer.retryExchange.name,
      orderEventsConsumer.retryRoutingKey(1),
    );
    await publishConfirmed(
      ch,
      orderEventsConsumer.deadLetterExchange.name,
      orderEventsConsumer.deadLetterRoutingKey,
    );
    expect(await ch.get(UNROUTABLE_QUEUE.name)).not.toBe(false);
    expect(await ch.get(orderEventsConsumer.deadLetterQueue.name)).not.toBe(false);
    for (const c of CHANNELS) await ch.get(channelConsumers[c].deadLetterQueue.name);
    const received = receiveOne(ch, orderEventsConsumer.queue.name);
    const email = await channelOf(await connectAs('email'));
    await publishConfirmed(email, EXCHANGES.events.name, events.emailSent.routingKey);
    expect(await received).toBe(events.emailSent.routingKey);
    await ch.close();
    const reached = await drainAll();
    for (const c of CHANNELS) expect(reached.get(channelConsumers[c].queue.name)).toHaveLength(2);
  });

  it('reaches no dead-letter queue of a channel through any exchange it can write to, with any routing key', async () => {
    const { reached, confirmed } = await publishEverywhere(user);
    expect(confirmed).toBeGreaterThan(0);
    const forbidden = CHANNELS.map((c) => channelConsumers[c].deadLetterQueue.name);
    expect([...reached.keys()].filter((q) => forbidden.includes(q))).toEqual([]);
    expect(reached.get(channelConsumers.payment.queue.name)?.length).toBeGreaterThan(0);
  });

  it('cannot publish any event to order.events, nor with another user id', async () => {
    const conn = await connectAs(user);
    for (const key of ALL_EVENT_KEYS)
      await expectRefused(conn, key, (ch) => publishConfirmed(ch, EXCHANGES.events.name, key));
    await expectRefused(
      conn,
      'user-id of email',
      (ch) =>
        publishConfirmed(ch, EXCHANGES.notification.name, 'email', { userId: broker.userName('email') }),
      406,
    );
  });

  it('cannot consume, fetch or purge any channel work queue or holding queue', () =>
    expectNoForeignReads(user));

  it('cannot declare, delete or bind anything, nor publish through the default or built-in exchanges', () =>
    expectNoTopologyChanges(user, undefined));
});

describe.each(CHANNELS)('the %s service user', (channel: Channel) => {
  const own = channelConsumers[channel];
  const ownKeys = eventRoutingKeysOf(channel);
  const foreignKeys = ALL_EVENT_KEYS.filter((k) => !ownKeys.includes(k));

  it('consumes its queue, retries and dead-letters through its own exchanges, publishes its own events as itself', async () => {
    await drainAll();
    const conn = await connectAs(channel);
    const ch = await channelOf(conn);
    const received = receiveOne(ch, own.queue.name);
    const api = await channelOf(await connectAs('order-api'));
    await publishConfirmed(api, EXCHANGES.notification.name, channel);
    expect(await received).toBe(channel);

    await publishConfirmed(ch, own.retryExchange.name, own.retryRoutingKey(1), { expiration: '600000' });
    await publishConfirmed(ch, own.deadLetterExchange.name, own.deadLetterRoutingKey);
    for (const key of ownKeys)
      await publishConfirmed(ch, EXCHANGES.events.name, key, { userId: broker.userName(channel) });
    await ch.close();
    await api.close();
    const reached = await drainAll();
    expect(reached.get(own.retryQueues[0]!.name)).toHaveLength(1);
    expect(reached.get(own.deadLetterQueue.name)).toHaveLength(1);
    expect(reached.get(orderEventsConsumer.queue.name)?.map((m) => m.split('/')[1])).toEqual(ownKeys);
  });

  it("reaches no other party's queue through any exchange it can write to, with any routing key, and sends the order API only its own events", async () => {
    const { reached, confirmed } = await publishEverywhere(channel);
    expect(confirmed).toBeGreaterThan(0);
    // Its own queues: the work queue's, and for email and whatsapp their preferences copy's.
    const copy = channel === 'email' || channel === 'whatsapp' ? preferenceConsumers[channel].queues : [];
    const allowed = [...own.queues, ...copy].map((q) => q.name).concat(orderEventsConsumer.queue.name);
    expect([...reached.keys()].filter((q) => !allowed.includes(q))).toEqual([]);
    expect(reached.get(own.queue.name)?.length).toBeGreaterThan(0);
    const events = reached.get(orderEventsConsumer.queue.name) ?? [];
    expect(events.length).toBeGreaterThan(0);
    for (const e of events)
      expect(e.startsWith(`${EXCHANGES.events.name}/`) && ownKeys.includes(e.split('/')[1]!)).toBe(true);
  });

  it("cannot publish another channel's event, nor any event under another user's id", async () => {
    const conn = await connectAs(channel);
    for (const key of foreignKeys)
      await expectRefused(conn, key, (ch) => publishConfirmed(ch, EXCHANGES.events.name, key));
    for (const other of USERS.filter((u) => u !== channel))
      await expectRefused(
        conn,
        `user-id of ${other}`,
        (ch) => publishConfirmed(ch, EXCHANGES.events.name, ownKeys[0]!, { userId: broker.userName(other) }),
        406,
      );
  });

  it('cannot consume, fetch or purge any queue but its own work queue, its dead letters included', () =>
    expectNoForeignReads(channel));

  it('cannot declare, delete or bind anything, nor publish through the default or built-in exchanges', () =>
    expectNoTopologyChanges(channel, own.queue.name));
});

describe('the KEDA user', () => {
  it('reads the depth of every consumer queue', async () => {
    const ch = await channelOf(await connectAs(QUEUE_DEPTH_USER));
    for (const c of CHANNELS) {
      const q = await ch.checkQueue(channelConsumers[c].queue.name);
      expect(q.messageCount).toBeGreaterThanOrEqual(0);
    }
  });

  it('can neither consume nor publish anywhere', async () => {
    await expectNoForeignReads(QUEUE_DEPTH_USER);
    const conn = await connectAs(QUEUE_DEPTH_USER);
    for (const e of topology.exchanges)
      await expectRefused(conn, e.name, (ch) => publishConfirmed(ch, e.name, 'email'));
  });

  it('cannot declare, delete or bind anything', () => expectNoTopologyChanges(QUEUE_DEPTH_USER, undefined));
});
