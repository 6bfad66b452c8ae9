import { randomUUID } from 'node:crypto';
import { preferencesChanged } from '@notify/contracts';
import type { WhatsappMessage } from '@notify/contracts';
import type { Publisher } from '@notify/messaging';
import { waitFor } from '@notify/messaging/testing';
import type { PeekedMessage, TestVhost } from '@notify/messaging/testing';
import type { Pool } from '@notify/service-kit';
import type { WhatsappSandbox } from '@notify/whatsapp-sandbox';
import twilio from 'twilio';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { WhatsappService } from './service.js';
import { order, phone, publishOrder, startWhatsappSuite } from './test-support/whatsapp-suite.js';
import type { WhatsappSuite } from './test-support/whatsapp-suite.js';

// Customer preferences, self-service opt-outs and the SMS fallback, against the sandbox:
// an opted-out customer or number gets nothing on either channel and the order's channel
// is reported skipped; a number WhatsApp cannot reach gets the notification as exactly one
// SMS, however often the message is delivered.

const FROM = '+14155238886';
const SMS_FROM = '+14155230000';

let suite: WhatsappSuite;
let vh: TestVhost;
let sandbox: WhatsappSandbox;
let service: WhatsappService;
let publisher: Publisher;
let pool: Pool;
let EVENTS_QUEUE: string;
const seen: PeekedMessage[] = [];

beforeAll(async () => {
  suite = await startWhatsappSuite('whatsapp-prefs', {
    env: { TWILIO_WHATSAPP_FROM: FROM, TWILIO_SMS_FROM: SMS_FROM, WHATSAPP_MODE: 'session' },
    retry: { delaysMs: [150, 300], maxAttempts: 3 },
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
  payload: Record<string, unknown>;
}

async function eventsFor(orderId: string, routingKey: string, n: number): Promise<SeenEvent[]> {
  return waitFor(
    async () => {
      seen.push(...(await vh.take(EVENTS_QUEUE, 500)));
      const mine = seen
        .map((m) => ({
          routingKey: m.routing_key,
          payload: JSON.parse(m.payload) as Record<string, unknown>,
        }))
        .filter((e) => e.payload['orderId'] === orderId);
      return mine.filter((e) => e.routingKey === routingKey).length >= n ? mine : null;
    },
    { timeoutMs: 30_000, what: `${n} ${routingKey} for ${orderId}` },
  );
}

const to = (number: string) => sandbox.messages().filter((m) => m.to.replace(/^whatsapp:/, '') === number);

async function postSigned(url: string, params: Record<string, string>) {
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-twilio-signature': twilio.getExpectedTwilioSignature(sandbox.authToken, url, params),
    },
    body: new URLSearchParams(params).toString(),
  });
}

const postInbound = (params: Record<string, string>) => postSigned(service.inboundUrl, params);

/** What Twilio posts when it reports a WhatsApp message failed after accepting it. */
const failedCallback = (sid: string, number: string, code = '63016') =>
  postSigned(service.statusCallbackUrl, {
    MessageSid: sid,
    SmsSid: sid,
    MessageStatus: 'failed',
    SmsStatus: 'failed',
    ErrorCode: code,
    To: `whatsapp:${number}`,
    From: `whatsapp:${FROM}`,
  });

describe('SMS fallback', () => {
  it('sends a number the sandbox says is not on WhatsApp exactly one SMS, also when the message is delivered again and replayed', async () => {
    const message = order();
    sandbox.setBehaviour({ whatsappErrors: [{ number: message.to, code: 63003 }] });
    await publish(message);
    const [sent] = (await eventsFor(message.orderId, 'whatsapp.sent', 1)).filter(
      (e) => e.routingKey === 'whatsapp.sent',
    );
    expect(sent?.payload).toMatchObject({ to: message.to, via: 'sms' });
    expect(String(sent?.payload['fallbackReason'])).toContain('63003');
    await publish(message);
    await publish(message, `${message.orderId}:whatsapp:replay`);
    await eventsFor(message.orderId, 'whatsapp.sent', 3);
    const sms = to(message.to);
    expect(sms).toHaveLength(1);
    expect(sms[0]).toMatchObject({ channel: 'sms', from: SMS_FROM, to: message.to });
    expect(sms[0]?.body).toContain(message.variables.orderReference);
    expect(sms[0]?.sid).toBe(sent?.payload['messageSid']);
  });
});

describe('SMS fallback after a failed status callback', () => {
  it('sends exactly one SMS when Twilio reports the accepted WhatsApp message failed with 63016, however often the callback and the message come', async () => {
    const number = phone();
    sandbox.setBehaviour({ whatsappCallbackErrors: [{ number, code: 63016 }] });
    const message = order({ to: number });
    await publish(message);
    const sentEvents = (await eventsFor(message.orderId, 'whatsapp.sent', 2)).filter(
      (e) => e.routingKey === 'whatsapp.sent',
    );
    const [whatsapp, sms] = sentEvents;
    expect(whatsapp?.payload).toMatchObject({ to: number, status: 'queued' });
    expect(whatsapp?.payload['via']).toBeUndefined();
    expect(sms?.payload).toMatchObject({ to: number, via: 'sms', status: 'queued' });
    expect(String(sms?.payload['fallbackReason'])).toContain('63016');
    const waSid = String(whatsapp?.payload['messageSid']);
    const smsSid = String(sms?.payload['messageSid']);
    expect(smsSid).not.toBe(waSid);
    // The SMS's own statuses follow; the WhatsApp failure is not reported, the SMS is.
    const all = await eventsFor(message.orderId, 'whatsapp.status', 4);
    const statuses = all
      .filter((e) => e.routingKey === 'whatsapp.status')
      .map((e) => [e.payload['messageSid'] === smsSid ? 'sms' : 'whatsapp', e.payload['status']]);
    // (A callback that overtook the SMS's commit is published right after it, so the order may vary.)
    expect(statuses).toHaveLength(4);
    expect(statuses).toEqual(
      expect.arrayContaining([
        ['whatsapp', 'sent'],
        ['sms', 'sent'],
        ['sms', 'delivered'],
        ['sms', 'read'],
      ]),
    );

    // Twilio repeats the failure, and the order message is delivered again.
    for (let i = 0; i < 2; i++) expect((await failedCallback(waSid, number)).status).toBe(204);
    await publish(message);
    await eventsFor(message.orderId, 'whatsapp.sent', 5);
    const sent = to(number);
    expect(sent.map((m) => m.channel).sort()).toEqual(['sms', 'whatsapp']);
    const smsMessage = sent.find((m) => m.channel === 'sms');
    expect(smsMessage).toMatchObject({ sid: smsSid, from: SMS_FROM });
    expect(smsMessage?.body).toContain(message.variables.orderReference);
    const stored = await pool.query<{
      via: string;
      message_sid: string;
      replaced_sid: string;
      sms_body: null;
    }>('SELECT via, message_sid, replaced_sid, sms_body FROM messages WHERE order_id = $1', [
      message.orderId,
    ]);
    expect(stored.rows).toEqual([{ via: 'sms', message_sid: smsSid, replaced_sid: waSid, sms_body: null }]);
    const history = await pool.query<{ status: string; fallback: boolean; error_code: number | null }>(
      'SELECT status, fallback, error_code FROM status_history WHERE order_id = $1 AND status = $2',
      [message.orderId, 'failed'],
    );
    expect(history.rows).toEqual([{ status: 'failed', fallback: false, error_code: 63016 }]);
  });

  it('sends no SMS to a number that said STOP after its WhatsApp message went, and reports the order skipped every time', async () => {
    const number = phone();
    // Statuses advance without callbacks: the test reports the failure itself, after the STOP.
    sandbox.setBehaviour({ whatsappCallbackErrors: [{ number, code: 63016 }], callbacks: false });
    const message = order({ to: number });
    await publish(message);
    const [sent] = (await eventsFor(message.orderId, 'whatsapp.sent', 1)).filter(
      (e) => e.routingKey === 'whatsapp.sent',
    );
    expect(
      (await postInbound({ From: `whatsapp:${number}`, To: `whatsapp:${FROM}`, Body: 'STOP' })).status,
    ).toBe(200);
    for (let i = 0; i < 2; i++) {
      expect((await failedCallback(String(sent?.payload['messageSid']), number)).status).toBe(204);
    }
    const events = await eventsFor(message.orderId, 'whatsapp.skipped', 2);
    expect(events.find((e) => e.routingKey === 'whatsapp.skipped')?.payload['reason']).toBe(
      'the number asked this sender to stop (STOP)',
    );
    expect(events.filter((e) => e.routingKey === 'whatsapp.status')).toEqual([]);
    expect(to(number).map((m) => m.channel)).toEqual(['whatsapp']);
    const stored = await pool.query<{ via: string; sms_skipped: string }>(
      'SELECT via, sms_skipped FROM messages WHERE order_id = $1',
      [message.orderId],
    );
    expect(stored.rows).toEqual([
      { via: 'whatsapp', sms_skipped: 'the number asked this sender to stop (STOP)' },
    ]);
  });

  it('reports a failure SMS cannot get round (30008) as the WhatsApp failure, sending nothing', async () => {
    const number = phone();
    sandbox.setBehaviour({ callbackStatuses: ['sent', 'failed'], callbackErrorCode: 30008 });
    const message = order({ to: number });
    await publish(message);
    const events = await eventsFor(message.orderId, 'whatsapp.status', 2);
    expect(events.filter((e) => e.routingKey === 'whatsapp.status').map((e) => e.payload['status'])).toEqual([
      'sent',
      'failed',
    ]);
    expect(to(number).map((m) => m.channel)).toEqual(['whatsapp']);
  });
});

describe('opt-outs', () => {
  it('skips the customer who opted out of WhatsApp through the API (its preferences copy), sending nothing', async () => {
    const subscriber = { client: 'shop-eu', customerKey: `cust-${randomUUID().slice(0, 8)}` };
    await publisher.publish(
      preferencesChanged,
      {
        subscriber,
        email: { optedOut: false },
        whatsapp: { optedOut: true },
        version: 1,
        updatedAt: new Date().toISOString(),
      },
      { messageId: `${subscriber.client}:${subscriber.customerKey}:v1` },
    );
    await waitFor(
      async () =>
        (
          await pool.query('SELECT 1 FROM customer_preferences WHERE customer_key = $1', [
            subscriber.customerKey,
          ])
        ).rowCount === 1,
      { timeoutMs: 30_000, what: 'the preferences copy' },
    );
    const message = order({ subscriber });
    await publish(message);
    await publish(message);
    const events = await eventsFor(message.orderId, 'whatsapp.skipped', 2);
    expect(events.find((e) => e.routingKey === 'whatsapp.skipped')?.payload['reason']).toBe(
      'the customer opted out of WhatsApp messages',
    );
    expect(events.filter((e) => e.routingKey === 'whatsapp.sent')).toEqual([]);
    expect(to(message.to)).toEqual([]);
  });

  it('skips a number that replied STOP (signed webhook), on WhatsApp and SMS alike, until it replies START', async () => {
    const number = phone();
    sandbox.setBehaviour({ whatsappErrors: [{ number, code: 63016 }] });
    expect(
      (await postInbound({ From: `whatsapp:${number}`, To: `whatsapp:${FROM}`, Body: 'STOP' })).status,
    ).toBe(200);
    const unsigned = await fetch(service.inboundUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ From: `whatsapp:${number}`, Body: 'START' }).toString(),
    });
    expect(unsigned.status).toBe(403);
    const first = order({ to: number });
    await publish(first);
    await eventsFor(first.orderId, 'whatsapp.skipped', 1);
    expect(to(number)).toEqual([]);

    expect((await postInbound({ From: number, To: SMS_FROM, Body: 'start' })).status).toBe(200);
    const second = order({ to: number });
    await publish(second);
    await eventsFor(second.orderId, 'whatsapp.sent', 1);
    expect(to(number).map((m) => m.channel)).toEqual(['sms']);
  });

  it('remembers a number Twilio reports unsubscribed (21610): skipped, and the next order tries nothing', async () => {
    const number = phone();
    sandbox.setBehaviour({ unsubscribedNumbers: [number] });
    const first = order({ to: number });
    await publish(first);
    const events = await eventsFor(first.orderId, 'whatsapp.skipped', 1);
    expect(events.filter((e) => e.routingKey === 'whatsapp.failed')).toEqual([]);
    const stored = await pool.query<{ source: string }>(
      'SELECT source FROM phone_opt_outs WHERE phone = $1',
      [number],
    );
    expect(stored.rows[0]?.source).toBe('twilio-21610');
    // The sandbox would now accept it: that nothing arrives shows the service did not try.
    sandbox.setBehaviour({});
    const second = order({ to: number });
    await publish(second);
    await eventsFor(second.orderId, 'whatsapp.skipped', 1);
    expect(to(number)).toEqual([]);
  });
});
