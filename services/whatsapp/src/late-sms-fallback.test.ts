import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { callsForSmsFallback, fallBackToSms } from './late-sms-fallback.js';
import type {
  FallbackAttempt,
  LateFallbackDeps,
  LateFallbackResult,
  PendingFallback,
} from './late-sms-fallback.js';
import type { OutboundSms, SentRecord, StatusRecord } from './send-order-whatsapp.js';
import { SKIP_REASONS } from './send-order-whatsapp.js';
import { WhatsappDeliveryError } from './twilio-failure.js';

const ORDER = '0b7c9a52-3f4e-4d2b-9a51-6f7d8e9a0b1c';
const WA_SID = `SM${'a'.repeat(32)}`;
const SMS_SID = `SM${'b'.repeat(32)}`;
const TO = '+447700900123';

describe('callsForSmsFallback', () => {
  it('falls back for a WhatsApp message failed or undelivered with each code SMS can get round', () => {
    for (const status of ['failed', 'undelivered'] as const) {
      for (const errorCode of [63003, 63024, 63016, 63027, 63032]) {
        expect(callsForSmsFallback({ status, errorCode, sentOn: 'whatsapp' })).toBe(true);
      }
    }
  });

  it('does not for other codes, no code, other statuses or a message that went as SMS', () => {
    expect(callsForSmsFallback({ status: 'failed', errorCode: 30008, sentOn: 'whatsapp' })).toBe(false);
    expect(callsForSmsFallback({ status: 'failed', errorCode: 21610, sentOn: 'whatsapp' })).toBe(false);
    expect(callsForSmsFallback({ status: 'failed', errorCode: undefined, sentOn: 'whatsapp' })).toBe(false);
    expect(callsForSmsFallback({ status: 'delivered', errorCode: 63016, sentOn: 'whatsapp' })).toBe(false);
    expect(callsForSmsFallback({ status: 'failed', errorCode: 63016, sentOn: 'sms' })).toBe(false);
  });
});

/** The repository's contract in memory: one WhatsApp message with its SMS text kept. */
function memoryFallbackRepository(pending: PendingFallback | undefined) {
  let done: LateFallbackResult | undefined;
  let attempts = 0;
  return {
    attempts: () => attempts,
    async fallBackOnce(
      orderId: string,
      failedSid: string,
      attempt: (p: PendingFallback) => Promise<FallbackAttempt>,
    ): Promise<LateFallbackResult> {
      if (done) return done.outcome === 'sent' ? { ...done, outcome: 'duplicate', earlyStatuses: [] } : done;
      if (!pending || orderId !== ORDER || failedSid !== WA_SID) return { outcome: 'none' };
      attempts += 1;
      const result = await attempt(pending);
      if (result.kind === 'skipped') {
        done = { outcome: 'skipped', reason: result.reason };
        return done;
      }
      const record: SentRecord = {
        orderId,
        messageId: 'm-1',
        to: pending.to,
        messageSid: result.accepted.sid,
        acceptedStatus: 'queued',
        acceptedAt: '2026-12-04T10:00:00.000Z',
        via: 'sms',
        ...(result.accepted.fallbackReason ? { fallbackReason: result.accepted.fallbackReason } : {}),
        replacedSid: failedSid,
      };
      done = { outcome: 'sent', record, earlyStatuses: [] };
      return done;
    },
  };
}

function harness(
  options: {
    pending?: PendingFallback | undefined;
    customerOptedOut?: boolean;
    numberOptedOut?: boolean;
    smsError?: Error;
  } = {},
) {
  const sms: OutboundSms[] = [];
  const sent: SentRecord[] = [];
  const skipped: string[] = [];
  const optedOut: string[] = [];
  const repository = memoryFallbackRepository(
    'pending' in options ? options.pending : { to: TO, body: 'Your order ORD-1', subscriber: undefined },
  );
  const deps: LateFallbackDeps = {
    repository,
    sender: {
      async sendSms(message) {
        if (options.smsError) throw options.smsError;
        sms.push(message);
        return { sid: SMS_SID, status: 'queued' };
      },
    },
    events: {
      sent: async (record) => void sent.push(record),
      status: async () => undefined,
      failed: async () => undefined,
      skipped: async (skip) => void skipped.push(skip.reason),
    },
    preferences: { optedOut: async () => options.customerOptedOut ?? false },
    optOuts: {
      isOptedOut: async () => options.numberOptedOut ?? false,
      optOut: async (phone) => {
        optedOut.push(phone);
        return true;
      },
      optIn: async () => false,
    },
    statusCallbackUrl: () => 'http://127.0.0.1:1/twilio/status',
  };
  return { deps, sms, sent, skipped, optedOut, repository };
}

const failed: StatusRecord = {
  orderId: ORDER,
  messageSid: WA_SID,
  status: 'failed',
  errorCode: 63016,
  occurredAt: '2026-12-04T10:00:01.000Z',
};
const log = pino({ level: 'silent' });

describe('fallBackToSms', () => {
  it('sends the kept text as one SMS and reports it as whatsapp.sent via sms; a repeat re-publishes and sends nothing', async () => {
    const h = harness();
    expect(await fallBackToSms(failed, h.deps, log)).toBe(true);
    expect(await fallBackToSms(failed, h.deps, log)).toBe(true);
    expect(h.sms).toEqual([
      { to: TO, body: 'Your order ORD-1', statusCallback: 'http://127.0.0.1:1/twilio/status' },
    ]);
    expect(h.sent).toHaveLength(2);
    expect(h.sent[1]).toEqual(h.sent[0]);
    expect(h.sent[0]).toMatchObject({ via: 'sms', messageSid: SMS_SID, replacedSid: WA_SID });
    expect(h.sent[0]?.fallbackReason).toContain('63016');
    expect(h.repository.attempts()).toBe(1);
  });

  it('skips the SMS for a customer or a number that opted out meanwhile, reported whatsapp.skipped each time', async () => {
    for (const [options, reason] of [
      [
        {
          customerOptedOut: true,
          pending: { to: TO, body: 'x', subscriber: { client: 'c', customerKey: 'k' } },
        },
        SKIP_REASONS.customer,
      ],
      [{ numberOptedOut: true }, SKIP_REASONS.stop],
    ] as const) {
      const h = harness(options);
      expect(await fallBackToSms(failed, h.deps, log)).toBe(true);
      expect(await fallBackToSms(failed, h.deps, log)).toBe(true);
      expect(h.sms).toEqual([]);
      expect(h.sent).toEqual([]);
      expect(h.skipped).toEqual([reason, reason]);
    }
  });

  it('remembers a number Twilio answers 21610 for and reports it skipped', async () => {
    const h = harness({
      smsError: new WhatsappDeliveryError('unsubscribed', {
        retryable: false,
        httpStatus: 400,
        errorCode: 21610,
      }),
    });
    expect(await fallBackToSms(failed, h.deps, log)).toBe(true);
    expect(h.optedOut).toEqual([TO]);
    expect(h.skipped).toEqual([SKIP_REASONS.unsubscribed]);
  });

  it('leaves the WhatsApp failure to be reported when nothing was kept or Twilio refuses the SMS for good', async () => {
    const nothingKept = harness({ pending: undefined });
    expect(await fallBackToSms(failed, nothingKept.deps, log)).toBe(false);
    const refused = harness({
      smsError: new WhatsappDeliveryError('invalid', { retryable: false, httpStatus: 400, errorCode: 21211 }),
    });
    expect(await fallBackToSms(failed, refused.deps, log)).toBe(false);
    expect([...nothingKept.sent, ...refused.sent, ...nothingKept.skipped, ...refused.skipped]).toEqual([]);
  });

  it('throws when Twilio cannot be reached, so the callback is answered 503 and tried again', async () => {
    const h = harness({ smsError: new WhatsappDeliveryError('no answer', { retryable: true }) });
    await expect(fallBackToSms(failed, h.deps, log)).rejects.toThrow('no answer');
    expect(h.sent).toEqual([]);
  });
});
