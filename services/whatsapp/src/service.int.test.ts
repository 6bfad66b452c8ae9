import { HEADERS, notifications } from '@notify/contracts';
import type { WhatsappMessage } from '@notify/contracts';
import type { Publisher } from '@notify/messaging';
import { waitFor } from '@notify/messaging/testing';
import type { PeekedMessage, TestVhost } from '@notify/messaging/testing';
import type { Pool } from '@notify/service-kit';
import { DEV_ACCOUNT_SID, DEV_AUTH_TOKEN } from '@notify/whatsapp-sandbox';
import type { SandboxMessage, WhatsappSandbox } from '@notify/whatsapp-sandbox';
import twilio from 'twilio';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readMessageState } from './adapters/pg-message-repository.js';
import { SANDBOX_ACCOUNT_SID, SANDBOX_AUTH_TOKEN } from './config.js';
import type { WhatsappService } from './service.js';
import { order, publishOrder, startWhatsappSuite } from './test-support/whatsapp-suite.js';
import type { WhatsappSuite } from './test-support/whatsapp-suite.js';

const CONTENT_SID = `HX${'5'.repeat(32)}`;
const FROM = '+14155238886';

let suite: WhatsappSuite;
let vh: TestVhost;
let sandbox: WhatsappSandbox;
let service: WhatsappService;
let publisher: Publisher;
let pool: Pool;
let EVENTS_QUEUE: string;
const seen: PeekedMessage[] = [];
const seenDead: PeekedMessage[] = [];

beforeAll(async () => {
  suite = await startWhatsappSuite('whatsapp', {
    env: { TWILIO_WHATSAPP_FROM: FROM, WHATSAPP_MODE: 'template', TWILIO_CONTENT_SID: CONTENT_SID },
    // Short delays so the retry paths finish quickly; the policy's shape is the production one.
    retry: { delaysMs: [150, 300, 600], maxAttempts: 5 },
  });
  ({ vh, sandbox, service, publisher, pool, eventsQueue: EVENTS_QUEUE } = suite);
});

afterAll(async () => {
  await suite?.close();
});

beforeEach(() => {
  sandbox.clear();
  sandbox.setBehaviour({});
});

const publish = (message: WhatsappMessage, messageId?: string) => publishOrder(publisher, message, messageId);

interface SeenEvent {
  routingKey: string;
  messageId: string | undefined;
  payload: Record<string, unknown>;
}

async function collect(): Promise<SeenEvent[]> {
  seen.push(...(await vh.take(EVENTS_QUEUE, 500)));
  return seen.map((m) => ({
    routingKey: m.routing_key,
    messageId: m.properties.message_id,
    payload: JSON.parse(m.payload) as Record<string, unknown>,
  }));
}

/** Events for one order so far, waiting until `until` holds for them. */
async function eventsFor(orderId: string, until: (events: SeenEvent[]) => boolean, what: string) {
  return waitFor(
    async () => {
      const mine = (await collect()).filter((e) => e.payload.orderId === orderId);
      return until(mine) ? mine : null;
    },
    { what: `${what} for ${orderId}` },
  );
}

const count = (routingKey: string, n: number) => (events: SeenEvent[]) =>
  events.filter((e) => e.routingKey === routingKey).length >= n;

/** Waits until the service is idle: its queue drained and no handler running. */
async function drained() {
  await waitFor(async () => (await vh.queue('whatsapp'))?.messages === 0 && service.inFlight() === 0, {
    what: 'whatsapp queue drained',
  });
}

function sandboxMessagesTo(to: string): SandboxMessage[] {
  return sandbox.messages().filter((m) => m.to === `whatsapp:${to}`);
}

async function postCallback(params: Record<string, string>, signature: string | undefined) {
  return fetch(service.statusCallbackUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(signature !== undefined ? { 'x-twilio-signature': signature } : {}),
    },
    body: new URLSearchParams(params).toString(),
  });
}

function callbackParams(message: SandboxMessage, status: string): Record<string, string> {
  return {
    AccountSid: sandbox.accountSid,
    ApiVersion: '2010-04-01',
    ChannelPrefix: 'whatsapp',
    From: message.from,
    MessageSid: message.sid,
    MessageStatus: status,
    SmsSid: message.sid,
    SmsStatus: status,
    To: message.to,
  };
}

/** Signs like Twilio: the URL it was given as StatusCallback plus the sorted parameters. */
async function signedCallback(message: SandboxMessage, status: string) {
  const params = callbackParams(message, status);
  const signature = twilio.getExpectedTwilioSignature(sandbox.authToken, service.statusCallbackUrl, params);
  return postCallback(params, signature);
}

describe('whatsapp service against the sandbox through the real twilio SDK', () => {
  it('sends the template with its variables, stores the SID and publishes sent, then each callback status in order', async () => {
    // A callback that overtakes the commit of the send is parked and answered 202 (a later
    // test covers that); a second between the sandbox's answer and its first callback
    // keeps this test on the plain path even on a loaded machine.
    sandbox.setBehaviour({ callbackDelayMs: 1_000 });
    const message = order();
    await publish(message);

    // The sandbox records a callback's answer after the POST, so wait for the last one's.
    const received = await sandbox.waitFor(
      (m) =>
        m.to === `whatsapp:${message.to}` &&
        m.callbacks.some((c) => c.status === 'read' && c.httpStatus !== null),
      30_000,
    );
    expect(received).toMatchObject({
      from: `whatsapp:${FROM}`,
      contentSid: CONTENT_SID,
      contentVariables: { '1': 'Ada Lovelace', '2': 'ORD-3F2C1A9E', '3': '£39.98', '4': '2' },
      body: null,
      statusCallback: service.statusCallbackUrl,
    });
    // Every callback the sandbox sent was signed and accepted on the first try.
    expect(received.callbacks.map((c) => [c.status, c.httpStatus, c.attempt])).toEqual([
      ['sent', 204, 1],
      ['delivered', 204, 1],
      ['read', 204, 1],
    ]);

    const events = await eventsFor(message.orderId, count('whatsapp.status', 3), 'sent and three statuses');
    expect(events.map((e) => [e.routingKey, e.payload.status, e.messageId])).toEqual([
      ['whatsapp.sent', 'queued', `${message.orderId}:whatsapp.sent`],
      ['whatsapp.status', 'sent', `${message.orderId}:whatsapp.status:sent`],
      ['whatsapp.status', 'delivered', `${message.orderId}:whatsapp.status:delivered`],
      ['whatsapp.status', 'read', `${message.orderId}:whatsapp.status:read`],
    ]);
    expect(events[0]?.payload).toMatchObject({ to: message.to, messageSid: received.sid });

    const state = await readMessageState(pool, message.orderId);
    expect(state).toMatchObject({ record: { messageSid: received.sid }, status: 'read' });
    expect(state?.history.map((h) => h.status)).toEqual(['queued', 'sent', 'delivered', 'read']);
  });

  it('retries Twilio 429s and then succeeds, sending exactly one message', async () => {
    sandbox.setBehaviour({ failNext: { count: 2, status: 429 }, callbacks: false });
    const message = order();
    await publish(message);
    const events = await eventsFor(message.orderId, count('whatsapp.sent', 1), 'whatsapp.sent');
    expect(sandbox.attempts()).toBe(3);
    expect(sandboxMessagesTo(message.to)).toHaveLength(1);
    expect(events.filter((e) => e.routingKey === 'whatsapp.retrying').map((e) => e.payload.reason)).toEqual([
      expect.stringContaining('429'),
      expect.stringContaining('429'),
    ]);
  });

  it('retries Twilio 5xx answers and then succeeds, sending exactly one message', async () => {
    sandbox.setBehaviour({ failNext: { count: 2, status: 503 }, callbacks: false });
    const message = order();
    await publish(message);
    await eventsFor(message.orderId, count('whatsapp.sent', 1), 'whatsapp.sent');
    expect(sandbox.attempts()).toBe(3);
    expect(sandboxMessagesTo(message.to)).toHaveLength(1);
    expect(await readMessageState(pool, message.orderId)).toMatchObject({ status: 'queued' });
  });

  it('dead-letters an invalid number (400 / 21211) at once with the code in x-death-detail and publishes whatsapp.failed', async () => {
    const message = order();
    sandbox.setBehaviour({ rejectNumbers: [`whatsapp:${message.to}`] });
    await publish(message);

    const dead = await waitFor(
      async () =>
        (await vh.take('whatsapp.dlq', 10)).find((m) => JSON.parse(m.payload).orderId === message.orderId),
      { what: 'dead letter' },
    );
    expect(dead.properties.headers?.[HEADERS.deathReason]).toBe('permanent-failure');
    expect(String(dead.properties.headers?.[HEADERS.deathDetail])).toContain('twilio-code=21211');
    expect(String(dead.properties.headers?.[HEADERS.deathDetail])).toContain("Invalid 'To' Phone Number");

    const events = await eventsFor(message.orderId, count('whatsapp.failed', 1), 'whatsapp.failed');
    expect(events.find((e) => e.routingKey === 'whatsapp.failed')).toMatchObject({
      messageId: `${message.orderId}:whatsapp.failed`,
      payload: { errorCode: 21211, reason: expect.stringContaining('21211') },
    });
    expect(events.some((e) => e.routingKey === 'whatsapp.sent' || e.routingKey === 'whatsapp.retrying')).toBe(
      false,
    );
    expect(sandbox.attempts()).toBe(1);
    expect(await readMessageState(pool, message.orderId)).toBeUndefined();
  });

  it('keeps the stored status moving forward when signed callbacks arrive out of order', async () => {
    sandbox.setBehaviour({ callbacks: false, callbackStatuses: [] });
    const message = order();
    await publish(message);
    await eventsFor(message.orderId, count('whatsapp.sent', 1), 'whatsapp.sent');
    const [sent] = sandboxMessagesTo(message.to);
    if (!sent) throw new Error('the sandbox received nothing');

    expect((await signedCallback(sent, 'delivered')).status).toBe(204);
    expect((await signedCallback(sent, 'sent')).status).toBe(204);
    expect(await readMessageState(pool, message.orderId)).toMatchObject({ status: 'delivered' });
    expect((await signedCallback(sent, 'read')).status).toBe(204);

    const events = await eventsFor(message.orderId, count('whatsapp.status', 3), 'three statuses');
    expect(events.filter((e) => e.routingKey === 'whatsapp.status').map((e) => e.payload.status)).toEqual([
      'delivered',
      'sent',
      'read',
    ]);
    const state = await readMessageState(pool, message.orderId);
    expect(state?.status).toBe('read');
    expect(state?.history.map((h) => h.status)).toEqual(['queued', 'delivered', 'sent', 'read']);
  });

  it('refuses a callback with an invalid or missing signature with 403 and publishes nothing', async () => {
    sandbox.setBehaviour({ callbacks: false, callbackStatuses: [] });
    const message = order();
    await publish(message);
    await eventsFor(message.orderId, count('whatsapp.sent', 1), 'whatsapp.sent');
    const [sent] = sandboxMessagesTo(message.to);
    if (!sent) throw new Error('the sandbox received nothing');

    const params = callbackParams(sent, 'delivered');
    const forged = twilio.getExpectedTwilioSignature('not-the-auth-token', service.statusCallbackUrl, params);
    for (const res of [await postCallback(params, forged), await postCallback(params, undefined)]) {
      expect(res.status).toBe(403);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
    }
    // A signed callback afterwards goes through, so the refusals above were not for another reason.
    expect((await signedCallback(sent, 'sent')).status).toBe(204);
    const events = await eventsFor(message.orderId, count('whatsapp.status', 1), 'the signed status');
    expect(events.filter((e) => e.routingKey === 'whatsapp.status').map((e) => e.payload.status)).toEqual([
      'sent',
    ]);
    expect(await readMessageState(pool, message.orderId)).toMatchObject({ status: 'sent' });
  });

  it('on duplicate deliveries sends nothing more and re-publishes the same whatsapp.sent', async () => {
    sandbox.setBehaviour({ callbacks: false, callbackStatuses: [] });
    const message = order();
    // The same message twice, and a replay of the order under another message id.
    await Promise.all([publish(message), publish(message), publish(message, `${message.orderId}:replayed`)]);
    const events = await eventsFor(message.orderId, count('whatsapp.sent', 3), 'three whatsapp.sent');
    await drained();

    expect(sandboxMessagesTo(message.to)).toHaveLength(1);
    expect(sandbox.attempts()).toBe(1);
    const sentEvents = events.filter((e) => e.routingKey === 'whatsapp.sent');
    expect(new Set(sentEvents.map((e) => e.messageId))).toEqual(
      new Set([`${message.orderId}:whatsapp.sent`]),
    );
    expect(new Set(sentEvents.map((e) => JSON.stringify(e.payload))).size).toBe(1);
    const rows = await pool.query('SELECT count(*)::int AS n FROM messages WHERE order_id = $1', [
      message.orderId,
    ]);
    expect(rows.rows[0]).toEqual({ n: 1 });
  });

  it('settles a burst of orders in windows: one message per order, a poison message and the refused number dead-lettered alone, a twice-published order sent once', async () => {
    const orders = Array.from({ length: 24 }, () => order());
    const refused = orders[5]!;
    const twice = orders[11]!;
    const poison = { ...order(), to: 'not-a-phone-number' };
    sandbox.setBehaviour({
      callbacks: false,
      callbackStatuses: [],
      rejectNumbers: [`whatsapp:${refused.to}`],
    });
    await Promise.all([
      ...orders.map((m) => publish(m)),
      publish(twice, `${twice.orderId}:published-again`),
      publisher.publishRaw({
        exchange: notifications.whatsapp.exchange,
        routingKey: notifications.whatsapp.routingKey,
        content: Buffer.from(JSON.stringify(poison)),
        properties: {
          messageId: `${poison.orderId}:whatsapp`,
          correlationId: poison.orderId,
          type: notifications.whatsapp.type,
          contentType: 'application/json',
        },
      }),
    ]);
    for (const m of orders) {
      const routingKey = m === refused ? 'whatsapp.failed' : 'whatsapp.sent';
      await eventsFor(m.orderId, count(routingKey, m === twice ? 2 : 1), routingKey);
    }
    const dead = await waitFor(
      async () => {
        const got = await vh.take('whatsapp.dlq', 50);
        seenDead.push(...got);
        return seenDead.length >= 2 ? seenDead : null;
      },
      { what: 'two dead letters' },
    );
    await drained();

    for (const m of orders) expect(sandboxMessagesTo(m.to)).toHaveLength(m === refused ? 0 : 1);
    const reasons = new Map(
      dead.map((d) => [JSON.parse(d.payload).orderId as string, d.properties.headers?.[HEADERS.deathReason]]),
    );
    expect(reasons).toEqual(
      new Map([
        [refused.orderId, 'permanent-failure'],
        [poison.orderId, 'invalid-message'],
      ]),
    );
    const recorded = await pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM messages WHERE order_id = ANY($1::uuid[])',
      [orders.map((m) => m.orderId)],
    );
    expect(recorded.rows[0]?.n).toBe(orders.length - 1);
    expect((await pool.query('SELECT 1 FROM send_claims')).rowCount).toBe(0);
  });

  it('uses the same development account as the sandbox by default', () => {
    expect([SANDBOX_ACCOUNT_SID, SANDBOX_AUTH_TOKEN]).toEqual([DEV_ACCOUNT_SID, DEV_AUTH_TOKEN]);
  });
});
