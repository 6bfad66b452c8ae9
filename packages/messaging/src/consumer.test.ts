import { channelConsumers, EXCHANGES, exampleMessages, HEADERS, notifications } from '@notify/contracts';
import { afterEach, describe, expect, it } from 'vitest';
import { Consumer } from './consumer.js';
import type { ConsumerOptions } from './consumer.js';
import { PermanentError } from './errors.js';
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

/** A consumer of the email queue on a fake broker, its handler answering with `answer`. */
async function run(
  answer: (ctx: MessageContext) => Promise<Fate | void>,
  {
    failPublish,
    failHook,
    ...options
  }: Pick<ConsumerOptions<EmailContract>, 'alreadyProcessed'> & {
    failPublish?: Error;
    failHook?: Error;
  } = {},
): Promise<{ seen: Seen; channel: FakeChannel; consumer: Consumer<EmailContract> }> {
  const source = new FakeSource();
  const conn = source.connect();
  const topologies: unknown[] = [];
  const broker = Object.assign(source, {
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
    publisher: {
      async publishRaw(msg) {
        if (failPublish) throw failPublish;
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
        if (failHook) throw failHook;
      },
      onDeadLettered: async (info) => {
        atHook();
        seen.deadLettered.push(info);
        if (failHook) throw failHook;
      },
    },
    ...options,
  });
  stops.push(() => consumer.stop(1_000));
  await consumer.start();
  expect(topologies).toHaveLength(1);
  return { seen, channel: conn.last, consumer };
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
      exchange: EXCHANGES.retry.name,
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
    const { seen, channel } = await run(async () => Fates.unavailable('smtp', 'connection refused'));
    channel.deliver(1, {
      ...validEmail,
      properties: { ...validEmail.properties, headers: { [HEADERS.attempt]: 3 } },
    });
    await settled(seen);
    expect(seen.published[0]).toMatchObject({
      exchange: EXCHANGES.deadLetter.name,
      properties: { headers: { [HEADERS.deathReason]: 'max-attempts-exceeded' } },
    });
    expect(seen.deadLettered[0]).toMatchObject({
      attempts: 3,
      reason: 'max-attempts-exceeded',
      message: 'after 3 attempts: smtp unavailable: connection refused',
    });
    expect(seen.outcomes).toEqual([{ outcome: 'dead-letter', reason: 'max-attempts-exceeded' }]);
  });

  it('dead-letters a dead-letter fate at once: confirmed, then told, then acked', async () => {
    const { seen, channel } = await run(async () => Fates.deadLetter('mailbox unknown', '550 5.1.1'));
    const msg = channel.deliver(1, validEmail);
    await settled(seen);
    expect(seen.published[0]).toMatchObject({
      exchange: EXCHANGES.deadLetter.name,
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

  it('still acks when an observer hook fails: the message is settled already', async () => {
    const { seen, channel } = await run(async () => Fates.retry('smtp 451'), {
      failHook: new Error('events exchange gone'),
    });
    const msg = channel.deliver(1, validEmail);
    await settled(seen);
    expect(channel.acked).toEqual([msg]);
    expect(seen.outcomes).toEqual([{ outcome: 'retry', reason: 'smtp 451' }]);
  });

  it('gives the message back to the queue, unacked and untold, when the reroute is not confirmed', async () => {
    const { seen, channel } = await run(async () => Fates.deadLetter('mailbox unknown'), {
      failPublish: new Error('publish not confirmed'),
    });
    const msg = channel.deliver(1, validEmail);
    await settled(seen);
    expect(channel.acked).toEqual([]);
    expect(channel.requeued).toEqual([msg]);
    expect(seen.deadLettered).toEqual([]);
    expect(seen.outcomes).toEqual([{ outcome: 'requeue', reason: 'publish not confirmed' }]);
  });
});
