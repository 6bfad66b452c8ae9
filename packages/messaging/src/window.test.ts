import { channelConsumers, exampleMessages, HEADERS, notifications } from '@notify/contracts';
import { afterEach, describe, expect, it } from 'vitest';
import { Consumer } from './consumer.js';
import type { ConsumerOptions } from './consumer.js';
import { PermanentError } from './errors.js';
import { Fates } from './fate.js';
import type { Fate } from './fate.js';
import { FakeSource } from './fake-connection.js';
import type { FakeChannel } from './fake-connection.js';
import type { DeadLetteredInfo, Outcome, WindowFailedInfo } from './observer.js';
import type { RawPublish } from './publisher.js';
import type { Delivery, MessageContext } from './settle.js';
import { waitFor } from './testing/index.js';
import { WindowCollector } from './window.js';
import type { WindowOptions } from './window.js';

type EmailContract = typeof notifications.email;

const orderId = exampleMessages.email.orderId;
const email = (id: string) => ({
  content: Buffer.from(JSON.stringify(exampleMessages.email)),
  routingKey: 'email',
  properties: { messageId: id, correlationId: orderId, type: notifications.email.type },
});

interface Seen {
  outcomes: { outcome: Outcome; reason?: string }[];
  deadLettered: DeadLetteredInfo[];
  published: RawPublish[];
  /** Message ids of every window the window handler was given. */
  windows: string[][];
  /** Message ids the per-message handler was given. */
  alone: string[];
  /** Message ids of every window idempotency check. */
  checks: string[][];
  /** Windows that fell back to handling each message alone. */
  windowsFailed: WindowFailedInfo[];
}

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

interface Setup {
  /** The window handler's answer; by default every delivery acks. */
  window?: (deliveries: readonly Delivery<EmailContract>[]) => Promise<readonly (Fate | void)[]>;
  /** The per-message handler's answer; by default ack. */
  alone?: (ctx: MessageContext) => Promise<Fate | void>;
  alreadyProcessed?: (ids: readonly string[]) => Promise<ReadonlySet<string>>;
  size?: number;
  perMessageCheck?: ConsumerOptions<EmailContract>['alreadyProcessed'];
}

/** A window-mode consumer of the email queue on a fake broker. */
async function run(
  setup: Setup = {},
): Promise<{ seen: Seen; channel: FakeChannel; consumer: Consumer<EmailContract> }> {
  const source = new FakeSource();
  const conn = source.connect();
  const broker = Object.assign(source, { user: 'email', async addTopology() {} });
  const seen: Seen = {
    outcomes: [],
    deadLettered: [],
    published: [],
    windows: [],
    alone: [],
    checks: [],
    windowsFailed: [],
  };
  const window: WindowOptions<EmailContract> = {
    ...(setup.size ? { size: setup.size } : {}),
    handle: async (deliveries) => {
      seen.windows.push(deliveries.map((d) => d.ctx.messageId));
      return setup.window ? setup.window(deliveries) : deliveries.map(() => undefined);
    },
    ...(setup.alreadyProcessed
      ? {
          alreadyProcessed: async (ctxs: readonly MessageContext[]) => {
            const ids = ctxs.map((c) => c.messageId);
            seen.checks.push(ids);
            return setup.alreadyProcessed!(ids);
          },
        }
      : {}),
  };
  const consumer = new Consumer<EmailContract>(broker, {
    topology: channelConsumers.email,
    contracts: [notifications.email],
    retry: { maxAttempts: 3, delaysMs: [100, 200], jitter: 0 },
    pause: { initialDelayMs: 1, maxDelayMs: 4, jitter: 0 },
    prefetch: 50,
    publisher: {
      async publishRaw(msg) {
        seen.published.push(msg);
      },
    },
    handler: async ({ ctx }) => {
      seen.alone.push(ctx.messageId);
      return setup.alone ? setup.alone(ctx) : undefined;
    },
    window,
    ...(setup.perMessageCheck ? { alreadyProcessed: setup.perMessageCheck } : {}),
    observer: {
      onOutcome: (outcome, info) =>
        seen.outcomes.push({ outcome, ...(info.reason ? { reason: info.reason } : {}) }),
      onWindowFailed: (info) => void seen.windowsFailed.push(info),
      onDeadLettered: (info) => void seen.deadLettered.push(info),
    },
  });
  stops.push(() => consumer.stop(1_000));
  await consumer.start();
  return { seen, channel: conn.last, consumer };
}

/** Delivers messages m-1..m-n in one turn of the event loop, as one socket read does. */
function deliverAll(channel: FakeChannel, n: number) {
  return Array.from({ length: n }, (_, i) => channel.deliver(i + 1, email(`m-${i + 1}`)));
}

async function settled(seen: Seen, n: number) {
  await waitFor(() => seen.outcomes.length >= n, { what: `${n} outcome(s)` });
}

const outcomes = (seen: Seen) => seen.outcomes.map((o) => o.outcome).sort();
const ackedIds = (channel: FakeChannel) => channel.acked.map((m) => m.properties.messageId as string).sort();

describe('window mode', () => {
  it('settles the messages that arrive together as one window: one handler call, one ack frame with multiple', async () => {
    const { seen, channel } = await run();
    deliverAll(channel, 4);
    await settled(seen, 4);
    expect(seen.windows).toEqual([['m-1', 'm-2', 'm-3', 'm-4']]);
    expect(seen.alone).toEqual([]);
    expect(channel.ackFrames).toEqual([{ tag: 4, multiple: true }]);
    expect(ackedIds(channel)).toEqual(['m-1', 'm-2', 'm-3', 'm-4']);
    expect(outcomes(seen)).toEqual(['ack', 'ack', 'ack', 'ack']);
    expect(channel.unknownAcks).toEqual([]);
  });

  it('closes a window at its size: the rest goes into the next one', async () => {
    const { seen, channel } = await run({ size: 3 });
    deliverAll(channel, 5);
    await settled(seen, 5);
    expect(seen.windows).toEqual([
      ['m-1', 'm-2', 'm-3'],
      ['m-4', 'm-5'],
    ]);
    expect(channel.acked).toHaveLength(5);
    expect(channel.unknownAcks).toEqual([]);
  });

  it('handles a lone message with the per-message handler, as without windows', async () => {
    const { seen, channel } = await run();
    deliverAll(channel, 1);
    await settled(seen, 1);
    expect(seen.windows).toEqual([]);
    expect(seen.alone).toEqual(['m-1']);
    expect(channel.ackFrames).toEqual([{ tag: 1, multiple: false }]);
  });

  it('dead-letters an invalid message alone with its reason; its neighbours settle in the window', async () => {
    const { seen, channel } = await run();
    channel.deliver(1, email('m-1'));
    channel.deliver(2, { ...email('m-2'), content: Buffer.from('{not json') });
    channel.deliver(3, email('m-3'));
    await settled(seen, 3);
    expect(seen.windows).toEqual([['m-1', 'm-3']]);
    expect(seen.deadLettered).toEqual([
      expect.objectContaining({ messageId: 'm-2', reason: 'invalid-json' }),
    ]);
    expect(seen.published).toHaveLength(1);
    expect(seen.published[0]!.properties.headers?.[HEADERS.deathReason]).toBe('invalid-json');
    expect(ackedIds(channel)).toEqual(['m-1', 'm-2', 'm-3']);
    expect(channel.unknownAcks).toEqual([]);
  });

  it('gives every message its own fate from the window: acks together, the retry and the dead letter alone', async () => {
    const { seen, channel } = await run({
      window: async () => [
        undefined,
        Fates.retry('smtp 451'),
        Fates.deadLetter('mailbox unknown'),
        Fates.ack(),
      ],
    });
    deliverAll(channel, 4);
    await settled(seen, 4);
    expect(outcomes(seen)).toEqual(['ack', 'ack', 'dead-letter', 'retry']);
    const headers = seen.published.map((p) => p.properties.headers ?? {});
    expect(headers.map((h) => h[HEADERS.attempt]).sort()).toEqual([1, 2]);
    expect(seen.deadLettered).toEqual([
      expect.objectContaining({ messageId: 'm-3', reason: 'permanent-failure', message: 'mailbox unknown' }),
    ]);
    // m-1 is the oldest: acked at once; m-4 has older unsettled neighbours, so alone.
    expect(channel.ackFrames.slice(0, 2)).toEqual([
      { tag: 1, multiple: false },
      { tag: 4, multiple: false },
    ]);
    expect(ackedIds(channel)).toEqual(['m-1', 'm-2', 'm-3', 'm-4']);
    expect(seen.alone).toEqual([]);
    expect(channel.unknownAcks).toEqual([]);
  });

  it('isolates a window that fails as a whole: each message is handled alone once, and only the poison is dead-lettered', async () => {
    const { seen, channel } = await run({
      window: async (deliveries) => {
        if (deliveries.some((d) => d.ctx.messageId === 'm-2'))
          throw new Error('insert violates a constraint');
        return deliveries.map(() => undefined);
      },
      alone: async (ctx) => {
        if (ctx.messageId === 'm-2') throw new PermanentError('order violates a constraint');
      },
    });
    deliverAll(channel, 3);
    await settled(seen, 3);
    expect(seen.windows).toEqual([['m-1', 'm-2', 'm-3']]);
    expect(seen.alone.sort()).toEqual(['m-1', 'm-2', 'm-3']);
    expect(seen.deadLettered).toEqual([
      expect.objectContaining({ messageId: 'm-2', reason: 'permanent-failure' }),
    ]);
    expect(seen.published).toHaveLength(1);
    expect(outcomes(seen)).toEqual(['ack', 'ack', 'dead-letter']);
    expect(ackedIds(channel)).toEqual(['m-1', 'm-2', 'm-3']);
    expect(channel.unknownAcks).toEqual([]);
    expect(seen.windowsFailed).toEqual([
      { queue: 'email', stage: 'handler', size: 3, reason: 'insert violates a constraint' },
    ]);
  });

  it('isolates a window whose handler answers the wrong number of fates', async () => {
    const { seen, channel } = await run({ window: async () => [undefined] });
    deliverAll(channel, 3);
    await settled(seen, 3);
    expect(seen.alone.sort()).toEqual(['m-1', 'm-2', 'm-3']);
    expect(outcomes(seen)).toEqual(['ack', 'ack', 'ack']);
    expect(seen.windowsFailed).toEqual([
      expect.objectContaining({
        stage: 'handler',
        size: 3,
        reason: expect.stringContaining('1 fates for 3 messages'),
      }),
    ]);
  });

  it('checks the whole window for duplicates in one call and acks them without handling them', async () => {
    const { seen, channel } = await run({ alreadyProcessed: async () => new Set(['m-2']) });
    deliverAll(channel, 3);
    await settled(seen, 3);
    expect(seen.checks).toEqual([['m-1', 'm-2', 'm-3']]);
    expect(seen.windows).toEqual([['m-1', 'm-3']]);
    expect(outcomes(seen)).toEqual(['ack', 'ack', 'duplicate']);
    expect(channel.ackFrames).toEqual([{ tag: 3, multiple: true }]);
  });

  it('uses the per-message idempotency hook for each message when the window has none', async () => {
    const { seen, channel } = await run({ perMessageCheck: async (ctx) => ctx.messageId === 'm-1' });
    deliverAll(channel, 3);
    await settled(seen, 3);
    expect(seen.windows).toEqual([['m-2', 'm-3']]);
    expect(outcomes(seen)).toEqual(['ack', 'ack', 'duplicate']);
  });

  it('settles each message alone, with its own check, when the window check fails', async () => {
    let checks = 0;
    const { seen, channel } = await run({
      alreadyProcessed: async () => {
        throw new Error('connection terminated unexpectedly');
      },
      perMessageCheck: async () => {
        checks++;
        return false;
      },
    });
    deliverAll(channel, 2);
    await settled(seen, 2);
    expect(seen.windows).toEqual([]);
    expect(seen.alone.sort()).toEqual(['m-1', 'm-2']);
    expect(checks).toBe(2);
    expect(ackedIds(channel)).toEqual(['m-1', 'm-2']);
    expect(seen.windowsFailed).toEqual([
      { queue: 'email', stage: 'check', size: 2, reason: 'connection terminated unexpectedly' },
    ]);
  });

  it('holds only the message whose dependency is down; its neighbours are acked at once and it settles when the dependency is back', async () => {
    let down = true;
    const { seen, channel, consumer } = await run({
      window: async (deliveries) =>
        deliveries.map((d) =>
          d.ctx.messageId === 'm-1' ? Fates.unavailable('smtp', 'connect ECONNREFUSED') : undefined,
        ),
      alone: async () => (down ? Fates.unavailable('smtp', 'connect ECONNREFUSED') : undefined),
    });
    deliverAll(channel, 3);
    await settled(seen, 2);
    expect(ackedIds(channel)).toEqual(['m-2', 'm-3']);
    expect(consumer.status).toMatchObject({ state: 'paused', dependency: 'smtp', held: 1 });
    down = false;
    await settled(seen, 3);
    expect(ackedIds(channel)).toEqual(['m-1', 'm-2', 'm-3']);
    expect(outcomes(seen)).toEqual(['ack', 'ack', 'ack']);
    expect(seen.published).toEqual([]);
    expect(channel.unknownAcks).toEqual([]);
    await waitFor(() => channel.consuming, { what: 'consuming again' });
  });

  it('never acks with multiple over a delivery another window still holds', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const { seen, channel } = await run({
      size: 2,
      window: async (deliveries) => {
        if (deliveries.some((d) => d.ctx.messageId === 'm-1')) await gate;
        return deliveries.map(() => undefined);
      },
    });
    deliverAll(channel, 4);
    await settled(seen, 2);
    // m-3 and m-4 settled first: m-1 and m-2 are still unacked, so no multiple ack.
    expect(ackedIds(channel)).toEqual(['m-3', 'm-4']);
    expect(channel.ackFrames.every((f) => !f.multiple)).toBe(true);
    release();
    await settled(seen, 4);
    expect(channel.ackFrames.at(-1)).toEqual({ tag: 2, multiple: true });
    expect(ackedIds(channel)).toEqual(['m-1', 'm-2', 'm-3', 'm-4']);
    expect(channel.unknownAcks).toEqual([]);
  });
});

describe('WindowCollector', () => {
  it('refuses a size that is not a positive integer', () => {
    expect(() => new WindowCollector(0, async () => {})).toThrow(/positive integer/);
  });

  it('rejects every message of a window whose settling threw, so the subscription logs it', async () => {
    const collector = new WindowCollector(5, async () => {
      throw new Error('boom');
    });
    const handle = { ack() {}, returned: false };
    const msg = {} as Parameters<WindowCollector['add']>[0];
    await expect(Promise.all([collector.add(msg, handle), collector.add(msg, handle)])).rejects.toThrow(
      'boom',
    );
  });
});
