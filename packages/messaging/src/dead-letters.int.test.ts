import { randomUUID } from 'node:crypto';
import { channelConsumers, exampleMessages, HEADERS, notifications } from '@notify/contracts';
import type { EmailMessage } from '@notify/contracts';
import { describe, expect, it } from 'vitest';
import type { Broker } from './broker.js';
import { Consumer } from './consumer.js';
import { DeadLetterQueues } from './dead-letters.js';
import type { DeadLetter } from './dead-letters.js';
import { PermanentError } from './errors.js';
import { brokerHarness } from './test-harness.js';
import { waitFor } from './testing/index.js';

const h = brokerHarness('deadletters');

function emailFor(orderId: string): EmailMessage {
  return { ...structuredClone(exampleMessages.email), orderId };
}

describe('dead-letter queues', () => {
  it('summarises without consuming, replays chosen messages with their ids, and the consumer handles each once', async () => {
    const { broker, publisher } = await h.connect('dlq-replay');
    const rejecting = new Set<string>();
    const handled: { messageId: string; attempt: number; headers: Record<string, unknown> }[] = [];
    const consumer = new Consumer(broker, {
      topology: channelConsumers.email,
      contracts: [notifications.email],
      publisher,
      handler: async ({ payload, ctx }) => {
        if (rejecting.has(payload.orderId))
          throw new PermanentError('mailbox unknown', { detail: '550 5.1.1' });
        handled.push({ messageId: ctx.messageId, attempt: ctx.attempt, headers: { ...ctx.headers } });
      },
    });
    h.cleanup(() => consumer.stop());
    await consumer.start();

    const orders = [randomUUID(), randomUUID(), randomUUID()];
    for (const id of orders) rejecting.add(id);
    for (const id of orders) {
      await publisher.publish(notifications.email, emailFor(id), {
        messageId: `${id}:email`,
        correlationId: id,
      });
    }
    // A message that is not even JSON is dead-lettered by the runner with its own reason.
    await publisher.publishRaw({
      exchange: 'notification',
      routingKey: 'email',
      content: Buffer.from('{not json'),
      properties: { messageId: 'garbage-1', type: notifications.email.type, contentType: 'application/json' },
    });
    await waitFor(async () => ((await h.vh.queue('email.dlq'))?.messages ?? 0) === 4 || undefined, {
      what: 'four dead letters',
    });

    // A replay that follows a look waits for the looked-at messages to be ready again,
    // so it does not lean on its own second looks.
    const readyAgain = (n: number, what: string) =>
      waitFor(async () => (await h.ready('email.dlq')) === n || undefined, { what });

    const dlq = new DeadLetterQueues(broker, publisher);
    const summary = await dlq.summarize(channelConsumers.email);
    expect(summary.queue).toBe('email.dlq');
    expect(summary.count).toBe(4);
    expect(summary.sampled).toBe(4);
    expect(summary.reasons.map((r) => [r.reason, r.count])).toEqual([
      ['permanent-failure', 3],
      ['invalid-json', 1],
    ]);
    expect(summary.reasons[0]?.example).toContain('550 5.1.1');
    expect(summary.oldest?.messageId).toBe(`${orders[0]}:email`);
    expect(summary.oldest?.correlationId).toBe(orders[0]);
    expect(summary.messages).toHaveLength(4);
    // Looking consumed nothing.
    await readyAgain(4, 'four ready again after the summary');

    // The cause is fixed for two orders; replay exactly those two.
    rejecting.clear();
    const seen: DeadLetter[] = [];
    const result = await dlq.replay(
      channelConsumers.email,
      { messageIds: [`${orders[1]}:email`, `${orders[2]}:email`, 'no-such-id'] },
      { beforeRepublish: async (l) => void seen.push(l) },
    );
    expect(result.replayed.map((l) => l.messageId).sort()).toEqual(
      [`${orders[1]}:email`, `${orders[2]}:email`].sort(),
    );
    expect(result.notFound).toEqual(['no-such-id']);
    expect(seen).toHaveLength(2);
    await waitFor(async () => handled.length === 2 || undefined, { what: 'two replayed messages handled' });
    expect(handled.map((h) => h.messageId).sort()).toEqual(result.replayed.map((l) => l.messageId).sort());
    for (const h of handled) {
      expect(h.attempt).toBe(1);
      expect(h.headers['x-replay-count']).toBe(1);
      expect(h.headers[HEADERS.deathReason]).toBeUndefined();
      // Replayed as the replayer's user, the message still names its first publisher.
      expect(h.headers[HEADERS.publishedBy]).toBe(broker.user);
    }
    // The other two stay dead-lettered, and only the replayed ones left the queue.
    // (The replay's last look held them unacknowledged until it closed its channel.)
    await readyAgain(2, 'two left in the dead-letter queue, ready again after the replay');
    const after = await dlq.summarize(channelConsumers.email);
    expect(after.messages.map((m) => m.messageId).sort()).toEqual([`${orders[0]}:email`, 'garbage-1'].sort());
    expect(handled).toHaveLength(2);
    await readyAgain(2, 'two ready again after the second summary');

    // Replaying everything with a limit takes that many from the head of the queue.
    const one = await dlq.replay(channelConsumers.email, { limit: 1 });
    expect(one.replayed).toHaveLength(1);
    await waitFor(async () => ((await h.vh.queue('email.dlq'))?.messages ?? 0) === 1 || undefined, {
      what: 'one left after a limited replay',
    });

    // A message another reader holds (a summary closing its channel) is not ready
    // until the queue takes it back; a replay whose first look came too early looks
    // again and still finds it. The holder lets go only after that first look.
    const holder = await broker.connection()!.createChannel();
    const held = await holder.get('email.dlq', { noAck: false });
    if (held === false) throw new Error('expected a dead letter to hold');
    const heldId = held.properties.messageId as string;
    let firstLook = (): void => undefined;
    const looked = new Promise<void>((resolve) => (firstLook = resolve));
    const watched = {
      connection: () => ({
        createChannel: async () => {
          const ch = await broker.connection()!.createChannel();
          const check = ch.checkQueue.bind(ch);
          ch.checkQueue = async (queue: string) => {
            const r = await check(queue);
            firstLook();
            return r;
          };
          return ch;
        },
      }),
    } as unknown as Broker;
    const late = new DeadLetterQueues(watched, publisher).replay(channelConsumers.email, {
      messageIds: [heldId],
    });
    await looked;
    await holder.close();
    const lateResult = await late;
    expect(lateResult.notFound).toEqual([]);
    expect(lateResult.replayed.map((l) => l.messageId)).toEqual([heldId]);
  });

  it('reports an empty queue as empty', async () => {
    const { broker, publisher } = await h.connect('dlq-empty');
    const summary = await new DeadLetterQueues(broker, publisher).summarize(channelConsumers.fraud);
    expect(summary).toMatchObject({ queue: 'fraud.dlq', count: 0, sampled: 0, oldest: null, reasons: [] });
  });
});
