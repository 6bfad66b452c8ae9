import { channelConsumers, exampleMessages, HEADERS, notifications } from '@notify/contracts';
import { afterEach, describe, expect, it } from 'vitest';
import { Consumer } from './consumer.js';
import type { ConsumerOptions } from './consumer.js';
import { DependencyUnavailableError, PermanentError } from './errors.js';
import { Fates } from './fate.js';
import type { Fate } from './fate.js';
import { FakeSource } from './fake-connection.js';
import type { FakeChannel } from './fake-connection.js';
import type { DeadLetteredInfo, Outcome, RetryingInfo } from './observer.js';
import type { RawPublish } from './publisher.js';
import type { MessageContext } from './settle.js';
import { waitFor } from './testing/index.js';

type EmailContract = typeof notifications.email;

const orderId = exampleMessages.email.orderId;
const validEmail = {
  content: Buffer.from(JSON.stringify(exampleMessages.email)),
  routingKey: 'email',
  properties: { messageId: 'm-1', correlationId: orderId, type: notifications.email.type },
};

interface Seen {
  outcomes: { outcome: Outcome; reason?: string }[];
  retrying: RetryingInfo[];
  deadLettered: DeadLetteredInfo[];
  /** For each lifecycle hook: how many publishes and acks had happened when it ran. */
  atHook: { published: number; acked: number }[];
  published: RawPublish[];
  contexts: MessageContext[];
}

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

/** What the fake broker and observer fail with, changeable while the consumer runs. */
interface Faults {
  publish?: Error | undefined;
  hook?: Error | undefined;
}

/** A consumer of the email queue on a fake broker, its handler answering with `answer`. */
async function run(
  answer: (ctx: MessageContext) => Promise<Fate | void>,
  options: Pick<ConsumerOptions<EmailContract>, 'alreadyProcessed'> & { faults?: Faults } = {},
): Promise<{ seen: Seen; channel: FakeChannel; consumer: Consumer<EmailContract>; faults: Faults }> {
  const { faults = {}, ...consumerOptions } = options;
  const source = new FakeSource();
  const conn = source.connect();
  const topologies: unknown[] = [];
  const broker = Object.assign(source, {
    user: 'email',
    async addTopology(spec: unknown) {
      topologies.push(spec);
    },
  });
  const seen: Seen = {
    outcomes: [],
    retrying: [],
    deadLettered: [],
    atHook: [],
    published: [],
    contexts: [],
  };
  const atHook = () => seen.atHook.push({ published: seen.published.length, acked: conn.last.acked.length });
  const consumer = new Consumer<EmailContract>(broker, {
    topology: channelConsumers.email,
    contracts: [notifications.email],
    retry: { maxAttempts: 3, delaysMs: [100, 200], jitter: 0 },
    pause: { initialDelayMs: 1, maxDelayMs: 4, jitter: 0 },
    publisher: {
      async publishRaw(msg) {
        if (faults.publish) throw faults.publish;
        seen.published.push(msg);
      },
    },
    handler: async ({ ctx }) => {
      seen.contexts.push(ctx);
      return answer(ctx);
    },
    observer: {
      onOutcome: (outcome, info) =>
        seen.outcomes.push({ outcome, ...(info.reason ? { reason: info.reason } : {}) }),
      onRetrying: (info) => {
        atHook();
        seen.retrying.push(info);
        if (faults.hook) throw faults.hook;
      },
      onDeadLettered: async (info) => {
        atHook();
        seen.deadLettered.push(info);
        if (faults.hook) throw faults.hook;
      },
    },
    ...consumerOptions,
  });
  stops.push(() => consumer.stop(1_000));
  await consumer.start();
  expect(topologies).toHaveLength(1);
  return { seen, channel: conn.last, consumer, faults };
}

async function settled(seen: Seen, n = 1) {
  await waitFor(() => seen.outcomes.length >= n, { what: `${n} outcome(s)` });
}

describe('consumer runner', () => {
  it('acks a message whose handler returns nothing, telling the handler its attempt and the policy maximum', async () => {
    const { seen, channel } = await run(async () => undefined);
    const msg = channel.deliver(1, validEmail);
    await settled(seen);
    expect(channel.acked).toEqual([msg]);
    expect(seen.published).toEqual([]);
    expect(seen.outcomes).toEqual([{ outcome: 'ack' }]);
    expect(seen.contexts[0]).toMatchObject({
      messageId: 'm-1',
      correlationId: orderId,
      attempt: 1,
      maxAttempts: 3,
    });
  });

  it('retries a retry fate: the copy is confirmed, then the observer is told, then the original is acked', async () => {
    const { seen, channel } = await run(async () => Fates.retry('smtp 451'));
    const msg = channel.deliver(1, validEmail);
    await settled(seen);
    expect(seen.published).toHaveLength(1);
    expect(seen.published[0]).toMatchObject({
      exchange: channelConsumers.email.retryExchange.name,
      routingKey: channelConsumers.email.retryRoutingKey(1),
      properties: { expiration: '100', headers: { [HEADERS.attempt]: 2 } },
    });
    expect(seen.retrying).toEqual([
      {
        queue: 'email',
        messageId: 'm-1',
        correlationId: orderId,
        routingKey: 'email',
        attempt: 1,
        delayMs: 100,
        message: 'smtp 451',
      },
    ]);
    expect(seen.atHook).toEqual([{ published: 1, acked: 0 }]);
    expect(channel.acked).toEqual([msg]);
    expect(seen.outcomes).toEqual([{ outcome: 'retry', reason: 'smtp 451' }]);
  });

  it('dead-letters a retry on the last attempt with max-attempts-exceeded', async () => {
    const { seen, channel } = await run(async () => Fates.retry('smtp 421'));
    channel.deliver(1, {
      ...validEmail,
      properties: { ...validEmail.properties, headers: { [HEADERS.attempt]: 3 } },
    });
    await settled(seen);
    expect(seen.published[0]).toMatchObject({
      exchange: channelConsumers.email.deadLetterExchange.name,
      properties: { headers: { [HEADERS.deathReason]: 'max-attempts-exceeded' } },
    });
    expect(seen.deadLettered[0]).toMatchObject({
      attempts: 3,
      reason: 'max-attempts-exceeded',
      message: 'after 3 attempts: smtp 421',
    });
    expect(seen.outcomes).toEqual([{ outcome: 'dead-letter', reason: 'max-attempts-exceeded' }]);
  });

  it('dead-letters a dead-letter fate at once: confirmed, then told, then acked', async () => {
    const { seen, channel } = await run(async () => Fates.deadLetter('mailbox unknown', '550 5.1.1'));
    const msg = channel.deliver(1, validEmail);
    await settled(seen);
    expect(seen.published[0]).toMatchObject({
      exchange: channelConsumers.email.deadLetterExchange.name,
      routingKey: channelConsumers.email.deadLetterRoutingKey,
      properties: {
        headers: {
          [HEADERS.deathReason]: 'permanent-failure',
          [HEADERS.deathDetail]: 'mailbox unknown | 550 5.1.1',
        },
      },
    });
    expect(seen.deadLettered).toEqual([
      {
        queue: 'email',
        messageId: 'm-1',
        correlationId: orderId,
        routingKey: 'email',
        attempts: 1,
        reason: 'permanent-failure',
        message: 'mailbox unknown',
        detail: '550 5.1.1',
      },
    ]);
    expect(seen.atHook).toEqual([{ published: 1, acked: 0 }]);
    expect(channel.acked).toEqual([msg]);
  });

  it('dead-letters an invalid message without calling the handler', async () => {
    const { seen, channel } = await run(async () => undefined);
    channel.deliver(1, { ...validEmail, content: Buffer.from('{not json') });
    await settled(seen);
    expect(seen.contexts).toEqual([]);
    expect(seen.deadLettered[0]).toMatchObject({ reason: 'invalid-json', attempts: 1 });
    expect(seen.outcomes).toEqual([{ outcome: 'dead-letter', reason: 'invalid-json' }]);
  });

  it('acks a duplicate without calling the handler when the idempotency hook says its effect happened', async () => {
    const { seen, channel } = await run(async () => undefined, { alreadyProcessed: async () => true });
    const msg = channel.deliver(1, validEmail);
    await settled(seen);
    expect(seen.contexts).toEqual([]);
    expect(channel.acked).toEqual([msg]);
    expect(seen.outcomes).toEqual([{ outcome: 'duplicate' }]);
  });

  it('treats a throw as today: PermanentError dead-letters, anything else retries', async () => {
    let n = 0;
    const { seen, channel } = await run(async () => {
      n++;
      if (n === 1) throw new PermanentError('card expired');
      throw new Error('socket hang up');
    });
    channel.deliver(1, validEmail);
    await settled(seen, 1);
    channel.deliver(2, { ...validEmail, properties: { ...validEmail.properties, messageId: 'm-2' } });
    await settled(seen, 2);
    expect(seen.outcomes).toEqual([
      { outcome: 'dead-letter', reason: 'permanent-failure' },
      { outcome: 'retry', reason: 'socket hang up' },
    ]);
  });

  it('still acks a retry when telling the observer fails: the retry is confirmed already', async () => {
    const { seen, channel } = await run(async () => Fates.retry('smtp 451'), {
      faults: { hook: new Error('events exchange gone') },
    });
    const msg = channel.deliver(1, validEmail);
    await settled(seen);
    expect(channel.acked).toEqual([msg]);
    expect(seen.outcomes).toEqual([{ outcome: 'retry', reason: 'smtp 451' }]);
  });

  it('pauses for an unavailable dependency: cancels the consumer, holds the message unacked, tries it again, then consumes again', async () => {
    let down = true;
    const { seen, channel, consumer } = await run(async () =>
      down ? Fates.unavailable('database', 'connection refused') : undefined,
    );
    const msg = channel.deliver(1, validEmail);
    await waitFor(() => seen.contexts.length >= 3, { what: 'the held message tried again' });
    expect(consumer.status).toMatchObject({
      state: 'paused',
      dependency: 'database',
      reason: 'connection refused',
      held: 1,
    });
    expect(channel.consuming).toBe(false);
    expect(channel.cancelled).toHaveLength(1);
    expect(channel.acked).toEqual([]);
    expect(seen.published).toEqual([]);
    // However often it was tried, it is the same first attempt: no attempt was spent.
    expect(new Set(seen.contexts.map((c) => c.attempt))).toEqual(new Set([1]));
    down = false;
    await settled(seen);
    expect(channel.acked).toEqual([msg]);
    expect(seen.outcomes).toEqual([{ outcome: 'ack' }]);
    await waitFor(() => channel.consuming, { what: 'consuming again' });
    expect(consumer.status).toEqual({ state: 'consuming' });
  });

  it('pauses for a DependencyUnavailableError thrown by the handler, naming its dependency', async () => {
    let down = true;
    const { seen, channel, consumer } = await run(async () => {
      if (down) throw new DependencyUnavailableError('smtp', 'connect ECONNREFUSED');
    });
    channel.deliver(1, validEmail);
    await waitFor(() => consumer.status.state === 'paused', { what: 'paused' });
    expect(consumer.status).toMatchObject({ dependency: 'smtp', reason: 'connect ECONNREFUSED' });
    down = false;
    await settled(seen);
    expect(seen.outcomes).toEqual([{ outcome: 'ack' }]);
  });

  it('pauses when the idempotency check fails, counting it as the database, and checks again before handling', async () => {
    let down = true;
    const { seen, channel, consumer } = await run(async () => undefined, {
      alreadyProcessed: async () => {
        if (down) throw new Error('connection terminated unexpectedly');
        return false;
      },
    });
    const msg = channel.deliver(1, validEmail);
    await waitFor(() => consumer.status.state === 'paused', { what: 'paused' });
    expect(consumer.status).toMatchObject({
      dependency: 'database',
      reason: 'connection terminated unexpectedly',
    });
    expect(seen.contexts).toEqual([]);
    down = false;
    await settled(seen);
    expect(seen.contexts).toHaveLength(1);
    expect(channel.acked).toEqual([msg]);
  });

  it('holds the message when the reroute is not confirmed, and publishes it once the broker confirms again, unacked and untold until then', async () => {
    const { seen, channel, consumer, faults } = await run(async () => Fates.deadLetter('mailbox unknown'), {
      faults: { publish: new Error('publish not confirmed') },
    });
    const msg = channel.deliver(1, validEmail);
    await waitFor(() => consumer.status.state === 'paused', { what: 'paused' });
    expect(consumer.status).toMatchObject({ dependency: 'broker', reason: 'publish not confirmed' });
    expect(channel.acked).toEqual([]);
    expect(seen.deadLettered).toEqual([]);
    faults.publish = undefined;
    await settled(seen);
    expect(seen.published).toHaveLength(1);
    expect(seen.deadLettered).toHaveLength(1);
    // The handler decided once; only the reroute was tried again.
    expect(seen.contexts).toHaveLength(1);
    expect(channel.acked).toEqual([msg]);
    expect(seen.outcomes).toEqual([{ outcome: 'dead-letter', reason: 'permanent-failure' }]);
  });

  it('holds a dead letter until its dead-lettered event is told, without dead-lettering it twice', async () => {
    const { seen, channel, consumer, faults } = await run(async () => Fates.deadLetter('mailbox unknown'), {
      faults: { hook: new Error('order.events: publish not confirmed') },
    });
    const msg = channel.deliver(1, validEmail);
    await waitFor(() => seen.deadLettered.length >= 3, { what: 'the hook tried again' });
    expect(consumer.status).toMatchObject({ state: 'paused', dependency: 'broker' });
    expect(channel.acked).toEqual([]);
    faults.hook = undefined;
    await settled(seen);
    expect(seen.published).toHaveLength(1);
    expect(channel.acked).toEqual([msg]);
    expect(seen.outcomes).toEqual([{ outcome: 'dead-letter', reason: 'permanent-failure' }]);
  });

  it('lets go of a held message when stopped: unacked, returned to the queue with its channel', async () => {
    const { seen, channel, consumer } = await run(async () => Fates.unavailable('database', 'down'));
    channel.deliver(1, validEmail);
    await waitFor(() => consumer.status.state === 'paused', { what: 'paused' });
    await consumer.stop(1_000);
    expect(seen.outcomes).toEqual([{ outcome: 'returned' }]);
    expect(channel.acked).toEqual([]);
    expect(channel.closed).toBe(true);
  });
});
