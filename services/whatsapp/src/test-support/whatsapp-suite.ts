import { randomInt, randomUUID } from 'node:crypto';
import { EXCHANGES, exampleMessages, notifications } from '@notify/contracts';
import type { WhatsappMessage } from '@notify/contracts';
import { Broker, Publisher } from '@notify/messaging';
import type { RetryPolicy } from '@notify/messaging';
import { createTestVhost, waitFor } from '@notify/messaging/testing';
import type { TestVhost } from '@notify/messaging/testing';
import { createPool } from '@notify/service-kit';
import type { Pool } from '@notify/service-kit';
import { createTestDatabase } from '@notify/service-kit/testing';
import type { TestDatabase } from '@notify/service-kit/testing';
import { startWhatsappSandbox } from '@notify/whatsapp-sandbox';
import type { WhatsappSandbox } from '@notify/whatsapp-sandbox';
import pino from 'pino';
import { startWhatsappService } from '../service.js';
import type { WhatsappService } from '../service.js';

/** A whatsapp service of a suite's own, against its own vhost, database and sandbox. */
export interface WhatsappSuite {
  readonly vh: TestVhost;
  readonly db: TestDatabase;
  readonly sandbox: WhatsappSandbox;
  readonly service: WhatsappService;
  readonly publisher: Publisher;
  /** On the service's schema, for looking at its tables. */
  readonly pool: Pool;
  /** The queue every `whatsapp.#` event of `order.events` is copied to. */
  readonly eventsQueue: string;
  close(): Promise<void>;
}

/** Starts the service against the sandbox and waits until it is ready. */
export async function startWhatsappSuite(
  prefix: string,
  options: { env: Record<string, string>; retry: Partial<RetryPolicy> },
): Promise<WhatsappSuite> {
  const [vh, db, sandbox] = await Promise.all([
    createTestVhost(prefix),
    createTestDatabase(prefix.replace(/-/g, '_')),
    startWhatsappSandbox({ port: 0, accountSid: `AC${'7'.repeat(32)}`, authToken: `${prefix}-test-token` }),
  ]);
  const service = await startWhatsappService(
    {
      AMQP_URL: vh.url,
      DATABASE_URL: db.url,
      PORT: '0',
      HOST: '127.0.0.1',
      NODE_ENV: 'test',
      TWILIO_ACCOUNT_SID: sandbox.accountSid,
      TWILIO_AUTH_TOKEN: sandbox.authToken,
      TWILIO_API_BASE_URL: sandbox.url,
      ...options.env,
    },
    { logger: pino({ level: 'silent' }), retry: options.retry },
  );
  await waitFor(async () => (await fetch(`http://127.0.0.1:${service.port}/readyz`)).status === 200, {
    what: 'whatsapp service ready',
  });
  const eventsQueue = `test.${prefix}-events`;
  const broker = await Broker.connect({
    url: vh.url,
    connectionName: `${prefix}-test`,
    topology: {
      exchanges: [EXCHANGES.events],
      queues: [{ name: eventsQueue, arguments: {} }],
      bindings: [{ exchange: EXCHANGES.events.name, queue: eventsQueue, routingKey: 'whatsapp.#' }],
    },
  });
  await broker.waitUntilConnected();
  const publisher = new Publisher(broker);
  const pool = createPool({ url: db.url, schema: 'whatsapp' });
  return {
    vh,
    db,
    sandbox,
    service,
    publisher,
    pool,
    eventsQueue,
    async close() {
      await service.stop();
      await publisher.close();
      await broker.close();
      await pool.end();
      await sandbox.close();
      await vh.delete();
      await db.drop();
    },
  };
}

/** A fresh recipient per test, so sandbox messages and events are told apart by number. */
export const phone = () => `+4477009${String(randomInt(0, 100_000)).padStart(5, '0')}`;

export function order(patch: Partial<WhatsappMessage> = {}): WhatsappMessage {
  return { ...structuredClone(exampleMessages.whatsapp), orderId: randomUUID(), to: phone(), ...patch };
}

export async function publishOrder(
  publisher: Publisher,
  message: WhatsappMessage,
  messageId = `${message.orderId}:whatsapp`,
): Promise<void> {
  await publisher.publish(notifications.whatsapp, message, { messageId, correlationId: message.orderId });
}
