import { exampleMessages } from '@notify/contracts';
import type { PreferenceLookup } from '@notify/service-kit';
import { testDeliveryMeta } from '@notify/service-kit/testing';
import pino from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { whatsappFate } from './fate.js';
import type {
  AcceptedMessage,
  ClaimResult,
  MessageEvents,
  MessageRepository,
  OutboundSms,
  OutboundWhatsapp,
  RecordResult,
  SendOrderWhatsappDeps,
  SentRecord,
  StatusRecord,
} from './send-order-whatsapp.js';
import { SendNotStarted, sendOrderWhatsapp, sendOrderWhatsapps } from './send-order-whatsapp.js';
import { WhatsappDeliveryError } from './twilio-failure.js';

const SID = `SM${'a'.repeat(32)}`;

/**
 * The repository's contract without a database: one message per order, a claim per order
 * while its send is in flight, and a log of the calls (one `claimAll` per window).
 */
function memoryRepository(): MessageRepository & {
  records: Map<string, SentRecord>;
  claims: Map<string, string>;
  calls: string[];
} {
  const records = new Map<string, SentRecord>();
  const claims = new Map<string, string>();
  const calls: string[] = [];
  let tokens = 0;
  return {
    records,
    claims,
    calls,
    async claimAll(requests) {
      calls.push(`claimAll ${requests.length}`);
      return requests.map((r): ClaimResult => {
        const existing = records.get(r.orderId);
        if (existing) return { kind: 'sent', record: existing };
        if (claims.has(r.orderId)) return { kind: 'busy', leaseUntil: new Date('2026-01-02T03:06:05.000Z') };
        const token = `token-${++tokens}`;
        claims.set(r.orderId, token);
        return { kind: 'claimed', token, tookOver: false };
      });
    },
    async recordAll(sends) {
      calls.push(`recordAll ${sends.length}`);
      return sends.map(({ claim, accepted }): RecordResult => {
        claims.delete(claim.orderId);
        const existing = records.get(claim.orderId);
        if (existing) return { outcome: 'duplicate', record: existing };
        const record: SentRecord = {
          orderId: claim.orderId,
          messageId: claim.messageId,
          to: claim.to,
          messageSid: accepted.sid,
          acceptedStatus: 'queued',
          acceptedAt: '2026-01-02T03:04:05.000Z',
          via: accepted.via ?? 'whatsapp',
          ...(accepted.fallbackReason ? { fallbackReason: accepted.fallbackReason } : {}),
        };
        records.set(claim.orderId, record);
        return { outcome: 'sent', record, earlyStatuses: [] };
      });
    },
    async release(orderId, token) {
      calls.push(`release ${orderId}`);
      if (claims.get(orderId) === token) claims.delete(orderId);
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
    preferences: { optedOut: async () => options.customerOptedOut ?? false } as PreferenceLookup,
    optOuts: {
      isOptedOut: async (phone: string) => optedOut.has(phone),
      optOut: async (phone: string, source: string) => !optedOut.has(phone) && !!optedOut.set(phone, source),
      optIn: async (phone: string) => optedOut.delete(phone),
    },
    smsFallback: options.smsFallback ?? true,
    leaseMs: 120_000,
    requestTimeoutMs: 15_000,
  } satisfies SendOrderWhatsappDeps;
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
    const plain = t.repository.recordAll.bind(t.repository);
    t.repository.recordAll = async (sends) =>
      (await plain(sends)).map((r) => (r.outcome === 'sent' ? { ...r, earlyStatuses: [status] } : r));
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
    const spy = t.deps.repository.recordAll;
    t.deps.repository.recordAll = async (sends) => {
      claims.push(...sends.map((s) => s.claim));
      return spy(sends);
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

describe('sendOrderWhatsapps (a window)', () => {
  /** Orders of one window, each to its own number: `+44770090010<i>`. */
  const windowOf = (n: number) =>
    Array.from({ length: n }, (_, i) => ({
      message: {
        ...exampleMessages.whatsapp,
        orderId: `0b0e3c1e-0000-4000-8000-00000000000${i}`,
        to: `+44770090010${i}`,
        subscriber: { client: 'shop-eu', customerKey: `cust-${i}` },
      },
      meta: testDeliveryMeta({ messageId: `m${i}` }),
    }));
  const sidFor = (to: string) => `SM${to.slice(-1).repeat(32)}`;
  const acceptAll = async (m: OutboundWhatsapp) => ({ sid: sidFor(m.to), status: 'queued' });
  const kinds = (results: PromiseSettledResult<{ kind: string }>[]) =>
    results.map((r) => (r.status === 'fulfilled' ? r.value.kind : 'threw'));

  it('claims the whole window in one call, then sends, records and announces each message', async () => {
    const t = setup(acceptAll);
    const results = await sendOrderWhatsapps(windowOf(3), t.deps);
    expect(kinds(results)).toEqual(['sent', 'sent', 'sent']);
    expect(t.repository.calls.filter((c) => c.startsWith('claimAll'))).toEqual(['claimAll 3']);
    expect(t.sent.map((m) => m.to).sort()).toEqual(['+447700900100', '+447700900101', '+447700900102']);
    expect([...t.repository.records.keys()]).toHaveLength(3);
    expect(t.repository.claims.size).toBe(0);
    expect(t.published.filter((p) => p.kind === 'sent')).toHaveLength(3);
    for (const r of results)
      expect(r.status === 'fulfilled' && whatsappFate(r.value)).toEqual({ kind: 'ack' });
  });

  it('records the sends Twilio accepted together in one multi-row write', async () => {
    const t = setup(acceptAll);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const plain = t.repository.recordAll.bind(t.repository);
    let first = true;
    t.repository.recordAll = async (sends) => {
      // The first record is still committing when the others are accepted.
      if (first) {
        first = false;
        await gate;
      }
      return plain(sends);
    };
    const running = sendOrderWhatsapps(windowOf(4), t.deps);
    await vi.waitFor(() => expect(t.sent).toHaveLength(4));
    release();
    expect(kinds(await running)).toEqual(['sent', 'sent', 'sent', 'sent']);
    expect(t.repository.calls.filter((c) => c.startsWith('recordAll'))).toEqual([
      'recordAll 1',
      'recordAll 3',
    ]);
  });

  it('a message whose send throws unexpectedly fails alone: its claim is given back, its neighbours go out', async () => {
    const bug = new TypeError('x is not a function');
    const t = setup(async (m) => {
      if (m.to.endsWith('1')) throw bug;
      return acceptAll(m);
    });
    const results = await sendOrderWhatsapps(windowOf(3), t.deps);
    expect(kinds(results)).toEqual(['sent', 'threw', 'sent']);
    expect(results[1]).toEqual({ status: 'rejected', reason: bug });
    expect(t.repository.calls).toContain('release 0b0e3c1e-0000-4000-8000-000000000001');
    expect(t.repository.claims.size).toBe(0);
    expect(t.published.map((p) => (p.payload as { orderId: string }).orderId).sort()).toEqual([
      '0b0e3c1e-0000-4000-8000-000000000000',
      '0b0e3c1e-0000-4000-8000-000000000002',
    ]);
  });

  it('a message whose event the broker does not confirm fails alone; its retry re-publishes and sends nothing', async () => {
    const t = setup(acceptAll);
    const confirmed = t.deps.events.sent;
    t.deps.events.sent = async (record, trace) => {
      if (record.orderId.endsWith('2')) throw new Error('publish not confirmed');
      return confirmed(record, trace);
    };
    const results = await sendOrderWhatsapps(windowOf(3), t.deps);
    expect(kinds(results)).toEqual(['sent', 'sent', 'threw']);
    t.deps.events.sent = confirmed;
    const [again] = await sendOrderWhatsapps([windowOf(3)[2]!], t.deps);
    expect(again).toMatchObject({ status: 'fulfilled', value: { kind: 'duplicate' } });
    expect(t.sent).toHaveLength(3);
  });

  it('a Twilio refusal or throttle concerns only its own message', async () => {
    const t = setup(async (m) => {
      if (m.to.endsWith('0')) {
        throw new WhatsappDeliveryError('Twilio answered 400 with error 21211: message refused', {
          retryable: false,
          httpStatus: 400,
          errorCode: 21211,
          detail: "twilio-code=21211 status=400 Invalid 'To' Phone Number",
        });
      }
      if (m.to.endsWith('1'))
        throw new WhatsappDeliveryError('Twilio answered 429', { retryable: true, httpStatus: 429 });
      return acceptAll(m);
    });
    const results = await sendOrderWhatsapps(windowOf(3), t.deps);
    expect(kinds(results)).toEqual(['rejected', 'deferred', 'sent']);
    const fates = results.map((r) => (r.status === 'fulfilled' ? whatsappFate(r.value).kind : 'threw'));
    expect(fates).toEqual(['dead-letter', 'retry', 'ack']);
    expect(t.published.map((p) => p.kind).sort()).toEqual(['failed', 'sent']);
    // Neither failure sent anything, so both claims are given back for the next attempt.
    expect(t.repository.claims.size).toBe(0);
    expect([...t.repository.records.keys()]).toEqual(['0b0e3c1e-0000-4000-8000-000000000002']);
  });

  it('skips the customer who opted out and the number that said STOP, sending the others', async () => {
    const t = setup(acceptAll, { optedOutNumbers: ['+447700900102'] });
    t.deps.preferences.optedOut = async (s) => s.customerKey === 'cust-0';
    const results = await sendOrderWhatsapps(windowOf(3), t.deps);
    expect(kinds(results)).toEqual(['skipped', 'sent', 'skipped']);
    expect(t.sent.map((m) => m.to)).toEqual(['+447700900101']);
    expect(t.published.map((p) => p.kind).sort()).toEqual(['sent', 'skipped', 'skipped']);
    // Nothing recorded for the skipped orders: a later delivery asks again.
    expect([...t.repository.records.keys()]).toEqual(['0b0e3c1e-0000-4000-8000-000000000001']);
    expect(t.repository.claims.size).toBe(0);
  });

  it('re-publishes an order sent before and sends nothing for it; a second delivery of an order in the window waits', async () => {
    const t = setup(acceptAll);
    const [before, ...rest] = windowOf(3);
    await sendOrderWhatsapps([before!], t.deps);
    t.published.length = 0;
    const twice = { ...rest[0]!, meta: testDeliveryMeta({ messageId: 'outbox-published-twice' }) };
    const results = await sendOrderWhatsapps([before!, ...rest, twice], t.deps);
    expect(kinds(results)).toEqual(['duplicate', 'sent', 'sent', 'busy']);
    expect(results[3]).toMatchObject({
      status: 'fulfilled',
      value: { reason: expect.stringContaining('another delivery') },
    });
    expect(results[3]?.status === 'fulfilled' && whatsappFate(results[3].value).kind).toBe('retry');
    expect(t.sent).toHaveLength(3);
    expect(t.published.filter((p) => p.kind === 'sent')).toHaveLength(3);
  });

  it('falls back to SMS for the number WhatsApp cannot reach, once, beside the WhatsApp messages', async () => {
    const t = setup(
      async (m) => {
        if (m.to.endsWith('1')) throw notOnWhatsapp();
        return acceptAll(m);
      },
      { sendSms: async () => ({ sid: SMS_SID, status: 'queued' }) },
    );
    const results = await sendOrderWhatsapps(windowOf(3), t.deps);
    expect(kinds(results)).toEqual(['sent', 'sent', 'sent']);
    expect(t.sms.map((m) => m.to)).toEqual(['+447700900101']);
    expect(t.repository.records.get('0b0e3c1e-0000-4000-8000-000000000001')).toMatchObject({
      messageSid: SMS_SID,
      via: 'sms',
    });
    expect(t.repository.records.get('0b0e3c1e-0000-4000-8000-000000000000')).toMatchObject({
      via: 'whatsapp',
    });
    const again = await sendOrderWhatsapps(windowOf(3), t.deps);
    expect(kinds(again)).toEqual(['duplicate', 'duplicate', 'duplicate']);
    expect(t.sms).toHaveLength(1);
    expect(t.sent).toHaveLength(3);
  });

  it('sends nothing when the database fails while claiming: the window fails as a whole', async () => {
    const t = setup(acceptAll);
    const down = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    t.repository.claimAll = async () => {
      throw down;
    };
    await expect(sendOrderWhatsapps(windowOf(3), t.deps)).rejects.toBe(down);
    expect(t.sent).toEqual([]);
    expect(t.published).toEqual([]);
  });

  it('keeps trying to record an accepted send while the database is away, and never sends twice', async () => {
    const t = setup(acceptAll);
    const plain = t.repository.recordAll.bind(t.repository);
    let failures = 2;
    t.repository.recordAll = async (sends) => {
      if (failures-- > 0) throw Object.assign(new Error('terminating connection'), { code: '57P01' });
      return plain(sends);
    };
    const results = await sendOrderWhatsapps(windowOf(2), { ...t.deps, recordRetryDelayMs: () => 1 });
    expect(kinds(results)).toEqual(['sent', 'sent']);
    expect(t.sent).toHaveLength(2);
  });

  it('does not start a call its claim could not outlast: nothing sent, the claim given back, tried later', async () => {
    const t = setup(acceptAll);
    let now = 0;
    const calls: string[] = [];
    const deps: SendOrderWhatsappDeps = {
      ...t.deps,
      clock: () => now,
      sender: {
        send: async (m, mayStart) => {
          // Twilio's limits gave this call its turn only after most of the lease went by.
          now = 120_000 - 15_000;
          if (mayStart && !mayStart()) throw new SendNotStarted('too late');
          calls.push(m.to);
          return acceptAll(m);
        },
        sendSms: t.deps.sender.sendSms,
      },
    };
    const [result] = await sendOrderWhatsapps(windowOf(1), deps);
    expect(result).toEqual({ status: 'fulfilled', value: { kind: 'deferred', reason: 'too late' } });
    expect(calls).toEqual([]);
    expect(t.repository.claims.size).toBe(0);
    expect(t.published).toEqual([]);
  });
});
