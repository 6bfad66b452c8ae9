import { exampleMessages } from '@notify/contracts';
import { testDeliveryMeta } from '@notify/service-kit/testing';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { whatsappFate } from './fate.js';
import type {
  AcceptedMessage,
  MessageEvents,
  MessageRepository,
  OutboundSms,
  OutboundWhatsapp,
  SendOnceResult,
  SentRecord,
  StatusRecord,
} from './send-order-whatsapp.js';
import { sendOrderWhatsapp } from './send-order-whatsapp.js';
import { WhatsappDeliveryError } from './twilio-failure.js';

const SID = `SM${'a'.repeat(32)}`;

/** The repository's contract without a database: one message per order. */
function memoryRepository(): MessageRepository & { records: Map<string, SentRecord> } {
  const records = new Map<string, SentRecord>();
  return {
    records,
    async sendOnce(claim, send): Promise<SendOnceResult> {
      const existing = records.get(claim.orderId);
      if (existing) return { outcome: 'duplicate', record: existing };
      const accepted = await send();
      const record: SentRecord = {
        ...claim,
        messageSid: accepted.sid,
        acceptedStatus: 'queued',
        acceptedAt: '2026-01-02T03:04:05.000Z',
        via: accepted.via ?? 'whatsapp',
        ...(accepted.fallbackReason ? { fallbackReason: accepted.fallbackReason } : {}),
      };
      records.set(claim.orderId, record);
      return { outcome: 'sent', record, earlyStatuses: [] };
    },
    async findByMessageId(messageId) {
      return [...records.values()].find((r) => r.messageId === messageId);
    },
  };
}

function recordingEvents() {
  const published: { kind: string; payload: unknown }[] = [];
  const events: MessageEvents = {
    async sent(record) {
      published.push({ kind: 'sent', payload: record });
    },
    async status(record: StatusRecord) {
      published.push({ kind: 'status', payload: record });
    },
    async failed(failure) {
      published.push({ kind: 'failed', payload: failure });
    },
    async skipped(skip) {
      published.push({ kind: 'skipped', payload: skip });
    },
  };
  return { events, published };
}

interface SetupOptions {
  sendSms?: (m: OutboundSms) => Promise<AcceptedMessage>;
  customerOptedOut?: boolean;
  optedOutNumbers?: string[];
  smsFallback?: boolean;
}

function setup(send: (m: OutboundWhatsapp) => Promise<AcceptedMessage>, options: SetupOptions = {}) {
  const sent: OutboundWhatsapp[] = [];
  const sms: OutboundSms[] = [];
  const optedOut = new Map<string, string>((options.optedOutNumbers ?? []).map((n) => [n, 'stop-keyword']));
  const repository = memoryRepository();
  const { events, published } = recordingEvents();
  const lines: { level: number; msg: string }[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  const deps = {
    sender: {
      send: async (m: OutboundWhatsapp) => {
        sent.push(m);
        return send(m);
      },
      sendSms: async (m: OutboundSms) => {
        sms.push(m);
        if (!options.sendSms) throw new Error('no SMS expected');
        return options.sendSms(m);
      },
    },
    repository,
    events,
    content: { mode: 'session' as const, contentSid: '', contentSidsByLocale: {} },
    statusCallbackUrl: () => 'https://hooks.example.com/twilio/status',
    preferences: { optedOut: async () => options.customerOptedOut ?? false },
    optOuts: {
      isOptedOut: async (phone: string) => optedOut.has(phone),
      optOut: async (phone: string, source: string) => !optedOut.has(phone) && !!optedOut.set(phone, source),
      optIn: async (phone: string) => optedOut.delete(phone),
    },
    smsFallback: options.smsFallback ?? true,
  };
  const ctx = testDeliveryMeta({ messageId: `${exampleMessages.whatsapp.orderId}:whatsapp`, logger });
  return { sent, sms, optedOut, repository, published, deps, ctx, lines };
}

const SMS_SID = `SM${'b'.repeat(32)}`;
const notOnWhatsapp = () =>
  new WhatsappDeliveryError('Twilio answered 400 with error 63003: message refused', {
    retryable: false,
    httpStatus: 400,
    errorCode: 63003,
  });
const unsubscribed = () =>
  new WhatsappDeliveryError('Twilio answered 400 with error 21610: message refused', {
    retryable: false,
    httpStatus: 400,
    errorCode: 21610,
  });
const subscribed = { ...exampleMessages.whatsapp, subscriber: { client: 'shop-eu', customerKey: 'cust-42' } };

describe('sendOrderWhatsapp: preferences and SMS fallback', () => {
  it('sends nothing to a customer who opted out and publishes whatsapp.skipped', async () => {
    const t = setup(async () => ({ sid: SID, status: 'queued' }), { customerOptedOut: true });
    const outcome = await sendOrderWhatsapp(subscribed, t.ctx, t.deps);
    expect(outcome).toEqual({ kind: 'skipped', reason: 'the customer opted out of WhatsApp messages' });
    expect(whatsappFate(outcome)).toEqual({ kind: 'ack' });
    expect(t.sent).toEqual([]);
    expect(t.published.map((p) => p.kind)).toEqual(['skipped']);
  });

  it('sends nothing to a number that said STOP, neither WhatsApp nor SMS', async () => {
    const t = setup(async () => Promise.reject(notOnWhatsapp()), {
      optedOutNumbers: [exampleMessages.whatsapp.to],
      sendSms: async () => ({ sid: SMS_SID, status: 'queued' }),
    });
    expect((await sendOrderWhatsapp(subscribed, t.ctx, t.deps)).kind).toBe('skipped');
    expect(t.sent).toEqual([]);
    expect(t.sms).toEqual([]);
  });

  it('remembers a number Twilio reports unsubscribed (21610) and reports the order skipped, not failed', async () => {
    const t = setup(async () => Promise.reject(unsubscribed()));
    const outcome = await sendOrderWhatsapp(exampleMessages.whatsapp, t.ctx, t.deps);
    expect(outcome.kind).toBe('skipped');
    expect(t.optedOut.get(exampleMessages.whatsapp.to)).toBe('twilio-21610');
    expect(t.published.map((p) => p.kind)).toEqual(['skipped']);
  });

  it('sends one SMS when the number is not on WhatsApp, records it as the order message, and a duplicate sends nothing', async () => {
    const t = setup(async () => Promise.reject(notOnWhatsapp()), {
      sendSms: async () => ({ sid: SMS_SID, status: 'queued' }),
    });
    const outcome = await sendOrderWhatsapp(exampleMessages.whatsapp, t.ctx, t.deps);
    expect(outcome.kind).toBe('sent');
    expect(t.sms).toEqual([
      {
        to: exampleMessages.whatsapp.to,
        body: expect.stringContaining('ORD-3F2C1A9E') as string,
        statusCallback: 'https://hooks.example.com/twilio/status',
      },
    ]);
    expect(t.published[0]).toEqual({
      kind: 'sent',
      payload: expect.objectContaining({
        messageSid: SMS_SID,
        via: 'sms',
        fallbackReason: expect.stringContaining('63003') as string,
      }),
    });
    const again = await sendOrderWhatsapp(exampleMessages.whatsapp, { ...t.ctx, messageId: 'again' }, t.deps);
    expect(again.kind).toBe('duplicate');
    expect(t.sent).toHaveLength(1);
    expect(t.sms).toHaveLength(1);
  });

  it('does not fall back for errors SMS cannot get round, nor without an SMS sender', async () => {
    const invalid = new WhatsappDeliveryError('Twilio answered 400 with error 21211: message refused', {
      retryable: false,
      httpStatus: 400,
      errorCode: 21211,
    });
    const t = setup(async () => Promise.reject(invalid), {
      sendSms: async () => ({ sid: SMS_SID, status: 'queued' }),
    });
    expect((await sendOrderWhatsapp(exampleMessages.whatsapp, t.ctx, t.deps)).kind).toBe('rejected');
    const u = setup(async () => Promise.reject(notOnWhatsapp()), { smsFallback: false });
    expect((await sendOrderWhatsapp(exampleMessages.whatsapp, u.ctx, u.deps)).kind).toBe('rejected');
    expect([...t.sms, ...u.sms]).toEqual([]);
  });
});

describe('sendOrderWhatsapp', () => {
  it('sends once with the status callback and publishes whatsapp.sent', async () => {
    const t = setup(async () => ({ sid: SID, status: 'queued' }));
    const outcome = await sendOrderWhatsapp(exampleMessages.whatsapp, t.ctx, t.deps);
    expect(outcome.kind).toBe('sent');
    expect(whatsappFate(outcome)).toEqual({ kind: 'ack' });
    expect(t.sent).toHaveLength(1);
    expect(t.sent[0]).toMatchObject({
      to: '+447700900123',
      statusCallback: 'https://hooks.example.com/twilio/status',
      content: { kind: 'session' },
    });
    expect(t.published).toEqual([
      {
        kind: 'sent',
        payload: expect.objectContaining({ messageSid: SID, orderId: exampleMessages.whatsapp.orderId }),
      },
    ]);
  });

  it('on a repeated delivery, sends nothing and re-publishes the same stored event', async () => {
    const t = setup(async () => ({ sid: SID, status: 'queued' }));
    await sendOrderWhatsapp(exampleMessages.whatsapp, t.ctx, t.deps);
    const again = await sendOrderWhatsapp(
      exampleMessages.whatsapp,
      { ...t.ctx, messageId: 'replayed' },
      t.deps,
    );
    expect(again.kind).toBe('duplicate');
    expect(whatsappFate(again)).toEqual({ kind: 'ack' });
    expect(t.sent).toHaveLength(1);
    expect(t.published).toHaveLength(2);
    expect(t.published[1]).toEqual(t.published[0]);
  });

  it('publishes whatsapp.failed with Twilio’s code and dead-letters a permanent refusal with it', async () => {
    const refusal = new WhatsappDeliveryError('Twilio answered 400 with error 21211: message refused', {
      retryable: false,
      httpStatus: 400,
      errorCode: 21211,
      detail: "twilio-code=21211 status=400 Invalid 'To' Phone Number",
    });
    const t = setup(async () => {
      throw refusal;
    });
    const outcome = await sendOrderWhatsapp(exampleMessages.whatsapp, t.ctx, t.deps);
    expect(whatsappFate(outcome)).toEqual({
      kind: 'dead-letter',
      reason: 'Twilio answered 400 with error 21211: message refused',
      detail: "twilio-code=21211 status=400 Invalid 'To' Phone Number",
    });
    expect(t.published).toEqual([
      {
        kind: 'failed',
        payload: {
          orderId: exampleMessages.whatsapp.orderId,
          errorCode: 21211,
          reason: expect.stringContaining("Invalid 'To' Phone Number"),
        },
      },
    ]);
    expect(t.repository.records.size).toBe(0);
  });

  it('logs rejected credentials as an error an operator cannot miss', async () => {
    const t = setup(async () => {
      throw new WhatsappDeliveryError('Twilio answered 401 with error 20003', {
        retryable: false,
        httpStatus: 401,
        errorCode: 20003,
        configuration: true,
        detail: 'x',
      });
    });
    const outcome = await sendOrderWhatsapp(exampleMessages.whatsapp, t.ctx, t.deps);
    expect(outcome.kind).toBe('rejected');
    expect(t.lines).toContainEqual(
      expect.objectContaining({ level: 50, msg: expect.stringContaining('TWILIO CREDENTIALS REJECTED') }),
    );
  });

  it('publishes nothing for a transient failure, leaving the retry to the consumer', async () => {
    const t = setup(async () => {
      throw new WhatsappDeliveryError('Twilio answered 503', { retryable: true, httpStatus: 503 });
    });
    const outcome = await sendOrderWhatsapp(exampleMessages.whatsapp, t.ctx, t.deps);
    expect(whatsappFate(outcome)).toEqual({ kind: 'retry', reason: 'Twilio answered 503' });
    expect(t.published).toEqual([]);
    expect(t.repository.records.size).toBe(0);
  });

  it('pauses instead of spending attempts when Twilio gives no answer at all', async () => {
    const t = setup(async () => {
      throw new WhatsappDeliveryError('no answer from Twilio: ECONNREFUSED', { retryable: true });
    });
    const outcome = await sendOrderWhatsapp(exampleMessages.whatsapp, t.ctx, t.deps);
    expect(whatsappFate(outcome)).toEqual({
      kind: 'unavailable',
      dependency: 'twilio',
      reason: 'no answer from Twilio: ECONNREFUSED',
    });
    expect(t.published).toEqual([]);
  });

  it('pauses rather than dead-letters when Twilio still fails on the last attempt', async () => {
    const t = setup(async () => {
      throw new WhatsappDeliveryError('Twilio answered 503', { retryable: true, httpStatus: 503 });
    });
    const last = { ...t.ctx, attempt: t.ctx.maxAttempts };
    const outcome = await sendOrderWhatsapp(exampleMessages.whatsapp, last, t.deps);
    expect(whatsappFate(outcome)).toEqual({
      kind: 'unavailable',
      dependency: 'twilio',
      reason: 'Twilio answered 503',
    });
    expect(t.published).toEqual([]);
  });

  it('lets an unexpected error through, for the runner to retry', async () => {
    const bug = new TypeError('x is not a function');
    const t = setup(async () => {
      throw bug;
    });
    await expect(sendOrderWhatsapp(exampleMessages.whatsapp, t.ctx, t.deps)).rejects.toBe(bug);
    expect(t.published).toEqual([]);
  });
});

describe('sendOrderWhatsapp: a failure reported before the send committed', () => {
  const parkedFailure = (orderId: string): StatusRecord => ({
    orderId,
    messageSid: SID,
    status: 'failed',
    errorCode: 63016,
    occurredAt: '2026-01-02T03:04:06.000Z',
  });

  function withParked(t: ReturnType<typeof setup>, status: StatusRecord) {
    const plain = t.repository.sendOnce.bind(t.repository);
    t.repository.sendOnce = async (claim, send) => {
      const result = await plain(claim, send);
      return result.outcome === 'sent' ? { ...result, earlyStatuses: [status] } : result;
    };
  }

  it('keeps the SMS text with the claim and sends the SMS instead of publishing the parked 63016 failure', async () => {
    const t = setup(async () => ({ sid: SID, status: 'queued' }));
    const claims: unknown[] = [];
    withParked(t, parkedFailure(exampleMessages.whatsapp.orderId));
    const fallbacks: string[] = [];
    const lateFallback = {
      ...t.deps,
      repository: {
        async fallBackOnce(orderId: string, failedSid: string) {
          fallbacks.push(`${orderId}/${failedSid}`);
          return { outcome: 'skipped' as const, reason: 'the number asked this sender to stop (STOP)' };
        },
      },
    };
    const spy = t.deps.repository.sendOnce;
    t.deps.repository.sendOnce = async (claim, send) => {
      claims.push(claim);
      return spy(claim, send);
    };
    const outcome = await sendOrderWhatsapp(exampleMessages.whatsapp, t.ctx, { ...t.deps, lateFallback });
    expect(outcome.kind).toBe('sent');
    expect(claims[0]).toMatchObject({
      sms: { body: expect.stringContaining(exampleMessages.whatsapp.variables.orderReference) },
    });
    expect(fallbacks).toEqual([`${exampleMessages.whatsapp.orderId}/${SID}`]);
    expect(t.published.map((p) => p.kind)).toEqual(['sent', 'skipped']);
  });

  it('publishes the parked failure as it is without an SMS sender', async () => {
    const t = setup(async () => ({ sid: SID, status: 'queued' }), { smsFallback: false });
    withParked(t, parkedFailure(exampleMessages.whatsapp.orderId));
    await sendOrderWhatsapp(exampleMessages.whatsapp, t.ctx, t.deps);
    expect(t.published.map((p) => p.kind)).toEqual(['sent', 'status']);
  });
});
