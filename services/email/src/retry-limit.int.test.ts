import { randomUUID } from 'node:crypto';
import { channelConsumers, events, exampleMessages, HEADERS, notifications } from '@notify/contracts';
import { waitFor } from '@notify/messaging/testing';
import type { PeekedMessage } from '@notify/messaging/testing';
import { tapOrderEvents } from '@notify/service-kit/testing';
import type { OrderEventsTap } from '@notify/service-kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmailSuite } from './test-support/email-suite.js';
import type { EmailSuite } from './test-support/email-suite.js';

// A suite of its own: the service here runs with another retry limit than the main
// suite's, and two services on one vhost would share the email queue.

let suite: EmailSuite;
let tap: OrderEventsTap;

beforeAll(async () => {
  suite = await startEmailSuite('email-limit', {
    env: { RETRY_MAX_ATTEMPTS: '2' },
    // The code's own limit says six; the operator's RETRY_MAX_ATTEMPTS must win.
    retry: { maxAttempts: 6, delaysMs: [200, 400], jitter: 0.1 },
  });
  tap = await tapOrderEvents(suite.vh, 'email-limit-test');
});

afterAll(async () => {
  await tap?.close();
  await suite?.close();
});

describe('email service with RETRY_MAX_ATTEMPTS=2', () => {
  it('makes the second transient SMTP failure final: email.failed published, the message dead-lettered', async () => {
    const { vh, catcher, sql } = suite;
    const orderId = randomUUID();
    const attemptsBefore = catcher.attempts();
    catcher.setBehaviour({ transientFailures: 5 });
    await tap.publisher.publish(
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

    const [failed] = await tap.eventsFor(orderId, events.emailFailed.routingKey);
    expect(JSON.parse(failed!.payload)).toMatchObject({
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
