import twilio from 'twilio';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FAILS_LATER_ON_WHATSAPP_NUMBER } from './sandbox-behaviour.js';
import { startCallbackReceiver } from './test-support/callback-receiver.js';
import type { CallbackReceiver } from './test-support/callback-receiver.js';
import { sandboxClient } from './test-support/twilio-client.js';
import { startWhatsappSandbox } from './whatsapp-sandbox.js';
import type { WhatsappSandbox } from './whatsapp-sandbox.js';

// Generous: other suites may be loading the machine at the same time.
const WAIT_MS = 30_000;

const TO = 'whatsapp:+4915112345678';
const FROM = 'whatsapp:+14155238886';

let sandbox: WhatsappSandbox;
let receiver: CallbackReceiver | undefined;

beforeEach(async () => {
  sandbox = await startWhatsappSandbox({ authToken: 'callback-test-token' });
});

afterEach(async () => {
  await sandbox.close();
  await receiver?.close();
  receiver = undefined;
});

function client() {
  return sandboxClient(sandbox.url, sandbox.accountSid, sandbox.authToken);
}

describe('status callbacks', () => {
  it('accept a WhatsApp message to a number in whatsappCallbackErrors, then report it failed with that code; SMS to it goes through', async () => {
    receiver = await startCallbackReceiver();
    const statusCallback = `${receiver.baseUrl}/status`;
    const wa = await client().messages.create({
      to: `whatsapp:${FAILS_LATER_ON_WHATSAPP_NUMBER}`,
      from: FROM,
      body: 'hi',
      statusCallback,
    });
    expect(wa.status).toBe('queued');
    const failed = await receiver.waitForCount(2);
    expect(failed.map((c) => [c.params.MessageStatus, c.params.ErrorCode])).toEqual([
      ['sent', undefined],
      ['failed', '63016'],
    ]);
    await client().messages.create({
      to: FAILS_LATER_ON_WHATSAPP_NUMBER,
      from: '+15005550006',
      body: 'hi',
      statusCallback,
    });
    const all = await receiver.waitForCount(5);
    expect(all.slice(2).map((c) => c.params.MessageStatus)).toEqual(['sent', 'delivered', 'read']);
  });

  it('arrive in order as sent, delivered, read, each signed so the SDK validateRequest accepts it', async () => {
    receiver = await startCallbackReceiver();
    const statusCallback = `${receiver.baseUrl}/webhooks/twilio/status?orderId=order-1234&x=a%20b`;
    const message = await client().messages.create({ to: TO, from: FROM, body: 'hi', statusCallback });

    const callbacks = await receiver.waitForCount(3);
    expect(callbacks.map((callback) => callback.params.MessageStatus)).toEqual(['sent', 'delivered', 'read']);
    for (const callback of callbacks) {
      expect(callback.url).toBe(statusCallback);
      expect(callback.params).toMatchObject({
        MessageSid: message.sid,
        SmsSid: message.sid,
        AccountSid: sandbox.accountSid,
        From: FROM,
        To: TO,
        SmsStatus: callback.params.MessageStatus,
        ApiVersion: '2010-04-01',
        ChannelPrefix: 'whatsapp',
      });
      expect(callback.params.ErrorCode).toBeUndefined();
      expect(callback.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
      const signature = callback.headers['x-twilio-signature'];
      expect(typeof signature).toBe('string');
      expect(
        twilio.validateRequest(sandbox.authToken, String(signature), callback.url, callback.params),
      ).toBe(true);
      expect(twilio.validateRequest('another-token', String(signature), callback.url, callback.params)).toBe(
        false,
      );
    }

    const held = await sandbox.waitFor((m) => m.sid === message.sid && m.callbacks.length === 3, WAIT_MS);
    expect(held.status).toBe('read');
    expect(held.statusHistory.map((change) => change.status)).toEqual([
      'queued',
      'sent',
      'delivered',
      'read',
    ]);
    expect(
      held.callbacks.map(({ status, attempt, httpStatus, error }) => ({
        status,
        attempt,
        httpStatus,
        error,
      })),
    ).toEqual([
      { status: 'sent', attempt: 1, httpStatus: 204, error: null },
      { status: 'delivered', attempt: 1, httpStatus: 204, error: null },
      { status: 'read', attempt: 1, httpStatus: 204, error: null },
    ]);
  });

  it('retries a callback the receiver fails, with the same signature, and records every try', async () => {
    receiver = await startCallbackReceiver((index) => (index < 2 ? 500 : 200));
    sandbox.setBehaviour({ callbackStatuses: ['delivered'] });
    const statusCallback = `${receiver.baseUrl}/status`;
    const message = await client().messages.create({ to: TO, from: FROM, body: 'hi', statusCallback });

    const callbacks = await receiver.waitForCount(3);
    expect(new Set(callbacks.map((callback) => callback.headers['x-twilio-signature'])).size).toBe(1);
    expect(new Set(callbacks.map((callback) => callback.headers['i-twilio-idempotency-token'])).size).toBe(1);

    const held = await sandbox.waitFor((m) => m.sid === message.sid && m.callbacks.length === 3, WAIT_MS);
    expect(held.callbacks.map(({ attempt, httpStatus }) => ({ attempt, httpStatus }))).toEqual([
      { attempt: 1, httpStatus: 500 },
      { attempt: 2, httpStatus: 500 },
      { attempt: 3, httpStatus: 200 },
    ]);
    expect(held.callbacks[0]?.error).toBe('receiver answered 500');
  });

  it('gives up after the configured retries when the receiver cannot be reached', async () => {
    receiver = await startCallbackReceiver();
    const unreachable = receiver.baseUrl;
    await receiver.close();
    receiver = undefined;
    sandbox.setBehaviour({ callbackStatuses: ['sent'], callbackRetries: 1 });
    const message = await client().messages.create({
      to: TO,
      from: FROM,
      body: 'hi',
      statusCallback: unreachable,
    });

    const held = await sandbox.waitFor((m) => m.sid === message.sid && m.callbacks.length === 2, WAIT_MS);
    expect(held.callbacks.map(({ attempt, httpStatus }) => ({ attempt, httpStatus }))).toEqual([
      { attempt: 1, httpStatus: null },
      { attempt: 2, httpStatus: null },
    ]);
    expect(held.callbacks[0]?.error).toMatch(/ECONNREFUSED/);
    expect(held.status).toBe('sent');
  });

  it('reports a failed message with ErrorCode, in the callback and the resource', async () => {
    receiver = await startCallbackReceiver();
    sandbox.setBehaviour({ callbackStatuses: ['sent', 'failed'], callbackErrorCode: 63016 });
    const message = await client().messages.create({
      to: TO,
      from: FROM,
      body: 'hi',
      statusCallback: `${receiver.baseUrl}/status`,
    });

    const callbacks = await receiver.waitForCount(2);
    expect(callbacks.map((callback) => [callback.params.MessageStatus, callback.params.ErrorCode])).toEqual([
      ['sent', undefined],
      ['failed', '63016'],
    ]);
    const fetched = await client().messages(message.sid).fetch();
    expect(fetched).toMatchObject({ status: 'failed', errorCode: 63016 });
  });

  it('with callbacks off, statuses still advance but nothing is posted', async () => {
    receiver = await startCallbackReceiver();
    sandbox.setBehaviour({ callbacks: false });
    const message = await client().messages.create({
      to: TO,
      from: FROM,
      body: 'hi',
      statusCallback: `${receiver.baseUrl}/status`,
    });
    const held = await sandbox.waitFor((m) => m.sid === message.sid && m.status === 'read', WAIT_MS);
    expect(held.callbacks).toEqual([]);
    expect(receiver.received).toEqual([]);
  });

  it('lists each message with its callback history over the JSON API', async () => {
    receiver = await startCallbackReceiver();
    const message = await client().messages.create({
      to: TO,
      from: FROM,
      body: 'hi',
      statusCallback: `${receiver.baseUrl}/status`,
    });
    await sandbox.waitFor((m) => m.sid === message.sid && m.callbacks.length === 3, WAIT_MS);
    const response = await fetch(`${sandbox.url}/api/messages`);
    const listed = (await response.json()) as Array<{
      sid: string;
      callbacks: Array<{ status: string; httpStatus: number | null; at: string }>;
    }>;
    expect(listed.map((m) => m.sid)).toEqual([message.sid]);
    expect(listed[0]?.callbacks.map(({ status, httpStatus }) => ({ status, httpStatus }))).toEqual([
      { status: 'sent', httpStatus: 204 },
      { status: 'delivered', httpStatus: 204 },
      { status: 'read', httpStatus: 204 },
    ]);
    for (const callback of listed[0]?.callbacks ?? []) {
      expect(Number.isNaN(Date.parse(callback.at))).toBe(false);
    }
  });
});
