import { randomUUID } from 'node:crypto';
import { channelConsumers, EXCHANGES, exampleMessages, HEADERS, notifications } from '@notify/contracts';
import amqplib from 'amqplib';
import { describe, expect, it } from 'vitest';
import { Broker } from './broker.js';
import { Consumer } from './consumer.js';
import { Fates } from './fate.js';
import { Publisher } from './publisher.js';
import { brokerHarness } from './test-harness.js';
import { waitFor } from './testing/index.js';

const h = brokerHarness('identity');

/** A broker and publisher that log in as a user of their own, closed after the test. */
async function connectAs(suffix: string) {
  const url = await h.vh.addUser(suffix);
  const broker = await Broker.connect({ url, connectionName: suffix });
  h.cleanup(() => broker.close());
  await broker.waitUntilConnected();
  const publisher = new Publisher(broker);
  h.cleanup(() => publisher.close());
  return { broker, publisher };
}

describe('publisher identity', () => {
  it('the broker refuses a publish whose user-id is not the connection’s user, closing the channel', async () => {
    await h.connect('setup');
    const conn = await amqplib.connect(h.vh.url);
    h.cleanup(() => conn.close());
    const ch = await conn.createConfirmChannel();
    const closed = new Promise<Error>((resolve) => ch.on('error', resolve));
    ch.publish(EXCHANGES.notification.name, 'email', Buffer.from('{}'), { userId: 'order-api' });
    const err = await closed;
    expect(err.message).toMatch(/406|PRECONDITION_FAILED/);
    expect(err.message).toContain("user_id property set to 'order-api'");
  });

  it('every publish names the connection’s user in user-id', async () => {
    await h.connect('setup');
    const { broker, publisher } = await connectAs('shop');
    const orderId = randomUUID();
    await publisher.publish(
      notifications.email,
      { ...exampleMessages.email, orderId },
      { messageId: `${orderId}:email`, correlationId: orderId },
    );
    const [got] = await waitFor(async () => {
      const ms = await h.vh.take('email', 10);
      return ms.length ? ms : null;
    });
    expect(got!.properties['user_id']).toBe(broker.user);
    expect(broker.user).toBe(`${h.vh.vhost}-shop`);
  });

  it('a retried message keeps its first publisher’s identity, and a claimed identity on a direct publish counts for nothing', async () => {
    const { broker, publisher } = await h.connect('email-service');
    const shop = await connectAs('shop');
    const seen: { messageId: string; attempt: number; publishedBy: string | undefined }[] = [];
    const consumer = new Consumer(broker, {
      topology: channelConsumers.email,
      contracts: [notifications.email],
      publisher,
      retry: { maxAttempts: 3, delaysMs: [50], jitter: 0 },
      handler: async ({ ctx }) => {
        seen.push({ messageId: ctx.messageId, attempt: ctx.attempt, publishedBy: ctx.publishedBy });
        return ctx.attempt === 1 ? Fates.retry('try again') : Fates.ack();
      },
    });
    h.cleanup(() => consumer.stop());
    await consumer.start();

    const orderId = randomUUID();
    await shop.publisher.publish(
      notifications.email,
      { ...exampleMessages.email, orderId },
      { messageId: 'first', correlationId: orderId, headers: { [HEADERS.publishedBy]: 'payment' } },
    );
    await waitFor(() => seen.length === 2, { what: 'the first delivery and its retry' });
    expect(seen).toEqual([
      { messageId: 'first', attempt: 1, publishedBy: shop.broker.user },
      { messageId: 'first', attempt: 2, publishedBy: shop.broker.user },
    ]);
    // The retry itself was published as the consumer's own user.
    expect(broker.user).not.toBe(shop.broker.user);
  });
});
