import { randomUUID } from 'node:crypto';
import { channelConsumers, events, exampleMessages, notifications } from '@notify/contracts';
import { waitFor } from '@notify/messaging/testing';
import { tapOrderEvents } from '@notify/service-kit/testing';
import type { OrderEventsTap } from '@notify/service-kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmailSuite } from './test-support/email-suite.js';
import type { EmailSuite } from './test-support/email-suite.js';

// The SMTP server goes away (a TCP proxy in front of the mail catcher is cut) with
// orders waiting. With a retry budget of two quick attempts, failing into the retry path
// would dead-letter every one of them within a second; an unreachable server must pause
// consumption instead, and every mail must go out once when the server is back.

let suite: EmailSuite;
let tap: OrderEventsTap;

beforeAll(async () => {
  suite = await startEmailSuite('email-outage', {
    env: { RETRY_MAX_ATTEMPTS: '2', RETRY_DELAYS_MS: '50' },
    retry: {},
    pause: { initialDelayMs: 50, maxDelayMs: 200 },
    proxySmtp: true,
  });
  tap = await tapOrderEvents(suite.vh, 'email-outage-test');
});

afterAll(async () => {
  await tap?.close();
  await suite?.close();
});

interface Readyz {
  status: string;
  checks: Record<string, boolean>;
  reasons?: Record<string, string>;
}

async function readyz(): Promise<{ code: number; body: Readyz }> {
  const r = await fetch(`${suite.service.url}/readyz`);
  return { code: r.status, body: (await r.json()) as Readyz };
}

describe('email service with its SMTP server unreachable', () => {
  it('pauses consumption naming SMTP, dead-letters and fails nothing, and sends every mail once when it is back', async () => {
    const { vh, catcher, sql, service } = suite;
    const proxy = suite.smtpProxy!;
    await proxy.cut();
    const orderIds = [randomUUID(), randomUUID(), randomUUID()];
    for (const orderId of orderIds) {
      await tap.publisher.publish(
        notifications.email,
        {
          ...structuredClone(exampleMessages.email),
          orderId,
          recipient: { name: 'Ada Lovelace', email: `ada.${orderId.slice(0, 8)}@example.com` },
        },
        { messageId: `${orderId}:email`, correlationId: orderId },
      );
    }

    const paused = await waitFor(
      async () => {
        const r = await readyz();
        return r.code === 503 && r.body.reasons?.consumer ? r : undefined;
      },
      { timeoutMs: 30_000, what: 'not ready, with the consumer paused for SMTP' },
    );
    expect(paused.body.checks).toMatchObject({ consumer: false, database: true, broker: true });
    expect(paused.body.reasons?.consumer).toMatch(/^smtp unavailable: SMTP server unreachable/);
    expect(service.consumers[0]!.status).toMatchObject({ state: 'paused', dependency: 'smtp' });

    // Let the paused consumer try a few more times: still nothing spent or dead-lettered.
    const triesBefore = catcher.attempts();
    await waitFor(
      async () => {
        const status = service.consumers[0]!.status;
        return status.state === 'paused' && status.held >= 1 ? status : undefined;
      },
      { what: 'a held message' },
    );
    expect(catcher.attempts()).toBe(triesBefore);
    expect((await vh.queue(channelConsumers.email.deadLetterQueue.name))?.messages).toBe(0);
    for (const q of channelConsumers.email.retryQueues) {
      expect((await vh.queue(q.name))?.messages, q.name).toBe(0);
    }
    for (const orderId of orderIds) {
      expect(await tap.eventsFor(orderId, events.emailFailed.routingKey, 0)).toEqual([]);
    }

    await proxy.restore();
    for (const orderId of orderIds) {
      const sent = await tap.eventsFor(orderId, events.emailSent.routingKey, 1);
      expect(sent).toHaveLength(1);
    }
    await waitFor(async () => ((await readyz()).code === 200 ? true : undefined), { what: 'ready again' });
    await waitFor(
      async () => ((await vh.queue(channelConsumers.email.queue.name))?.messages === 0 ? true : undefined),
      { what: 'the queue drained' },
    );
    for (const orderId of orderIds) {
      const mails = catcher.messages().filter((m) => m.headers['x-order-id'] === orderId);
      expect(mails, orderId).toHaveLength(1);
    }
    const rows = await sql.query<{ status: string }>(
      'SELECT status FROM email.order_confirmations WHERE order_id = ANY($1::uuid[])',
      [orderIds],
    );
    expect(rows.rows.map((r) => r.status)).toEqual(['sent', 'sent', 'sent']);
    expect((await vh.queue(channelConsumers.email.deadLetterQueue.name))?.messages).toBe(0);
    expect(await tap.eventsFor(orderIds[0]!, events.emailFailed.routingKey, 0)).toEqual([]);
  });
});
