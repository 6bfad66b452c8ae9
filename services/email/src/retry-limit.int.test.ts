import { randomUUID } from 'node:crypto';
import {
  channelConsumers,
  events,
  exampleMessages,
  EXCHANGES,
  HEADERS,
  notifications,
} from '@notify/contracts';
import { startMailCatcher } from '@notify/mail-catcher';
import type { MailCatcher } from '@notify/mail-catcher';
import { Broker, Publisher } from '@notify/messaging';
import { createTestVhost, waitFor } from '@notify/messaging/testing';
import type { PeekedMessage, TestVhost } from '@notify/messaging/testing';
import type { RunningService } from '@notify/service-kit';
import { createTestDatabase } from '@notify/service-kit/testing';
import type { TestDatabase } from '@notify/service-kit/testing';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmailConfig } from './config.js';
import { startEmailService } from './service.js';

// A suite of its own: the service here runs with another retry limit than the main
// suite's, and two services on one vhost would share the email queue.

const EVENTS_QUEUE = 'test.order-events';

let vh: TestVhost;
let db: TestDatabase;
let catcher: MailCatcher;
let service: RunningService<EmailConfig>;
let broker: Broker;
let publisher: Publisher;
let sql: pg.Pool;

beforeAll(async () => {
  [vh, db, catcher] = await Promise.all([
    createTestVhost('email-limit'),
    createTestDatabase('email_limit'),
    startMailCatcher({ smtpPort: 0, httpPort: 0 }),
  ]);
  service = await startEmailService(
    {
      AMQP_URL: vh.url,
      DATABASE_URL: db.url,
      PORT: '0',
      HOST: '127.0.0.1',
      SMTP_URL: catcher.smtpUrl,
      RETRY_MAX_ATTEMPTS: '2',
    },
    // The code's own limit says six; the operator's RETRY_MAX_ATTEMPTS must win.
    { logger: pino({ level: 'silent' }), retry: { maxAttempts: 6, delaysMs: [200, 400], jitter: 0.1 } },
  );
  await service.ready();
  broker = await Broker.connect({
    url: vh.url,
    connectionName: 'email-limit-test',
    topology: {
      exchanges: [EXCHANGES.events],
      queues: [{ name: EVENTS_QUEUE, arguments: {} }],
      bindings: [{ exchange: EXCHANGES.events.name, queue: EVENTS_QUEUE, routingKey: '#' }],
    },
  });
  await broker.waitUntilConnected();
  publisher = new Publisher(broker);
  sql = new pg.Pool({ connectionString: db.url, max: 1 });
});

afterAll(async () => {
  await service?.stop();
  await publisher?.close();
  await broker?.close();
  await sql?.end();
  await catcher?.close();
  await vh?.delete();
  await db?.drop();
});

describe('email service with RETRY_MAX_ATTEMPTS=2', () => {
  it('makes the second transient SMTP failure final: email.failed published, the message dead-lettered', async () => {
    const orderId = randomUUID();
    const attemptsBefore = catcher.attempts();
    catcher.setBehaviour({ transientFailures: 5 });
    await publisher.publish(
      notifications.email,
      { ...structuredClone(exampleMessages.email), orderId },
      { messageId: `${orderId}:email`, correlationId: orderId },
    );

    const taken: PeekedMessage[] = [];
    const dead = await waitFor(
      async () => {
        taken.push(...(await vh.take(channelConsumers.email.deadLetterQueue.name)));
        return taken.find((m) => m.properties.message_id === `${orderId}:email`);
      },
      { timeoutMs: 30_000, what: 'the dead letter' },
    );
    expect(dead.properties.headers?.[HEADERS.deathReason]).toBe('max-attempts-exceeded');
    expect(dead.properties.headers?.[HEADERS.attempt]).toBe(2);

    const seen: PeekedMessage[] = [];
    const failed = await waitFor(
      async () => {
        seen.push(...(await vh.take(EVENTS_QUEUE, 100)));
        return seen.find(
          (m) =>
            m.routing_key === events.emailFailed.routingKey &&
            (JSON.parse(m.payload) as { orderId: string }).orderId === orderId,
        );
      },
      { timeoutMs: 30_000, what: 'email.failed' },
    );
    expect(JSON.parse(failed.payload)).toMatchObject({
      reason: expect.stringMatching(/^gave up after 2 attempts: SMTP server deferred the message/),
    });
    expect(catcher.attempts() - attemptsBefore).toBe(2);
    const row = await sql.query<{ status: string }>(
      'SELECT status FROM email.order_confirmations WHERE order_id = $1',
      [orderId],
    );
    expect(row.rows[0]?.status).toBe('failed');
  });
});
