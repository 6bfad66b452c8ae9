import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import twilio from 'twilio';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { webhookRequests } from './test-support/webhook-requests.js';
import type { RecordStatusResult, ReportedStatus, StatusRepository } from './record-status-callback.js';
import type { MessageEvents, StatusRecord } from './send-order-whatsapp.js';
import { CALLBACK_BODY_LIMIT, statusCallbackRoutes } from './status-callback-route.js';
import { nextStatus } from './whatsapp-status.js';
import type { WhatsappStatus } from './whatsapp-status.js';

const AUTH_TOKEN = 'route-test-token';
// Behind a proxy: Twilio signs the public URL, the request arrives on another host and path.
const PUBLIC_URL = 'https://hooks.example.com/notify/whatsapp/twilio/status';
const ORDER = '0b8f3c1e-9a4d-4c59-8d65-1f0e7b2a3c4d';
const SID = `SM${'b'.repeat(32)}`;
/** The trace the message was sent in, as the repository keeps it. */
const SENT_IN_TRACE = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

/** The repository's callback contract in memory: one known message. */
function memoryStatusRepository() {
  let current: WhatsappStatus = 'queued';
  const history = new Map<WhatsappStatus, StatusRecord>();
  const repository: StatusRepository = {
    async recordStatus(report: ReportedStatus): Promise<RecordStatusResult> {
      if (report.messageSid !== SID) return { outcome: 'unmatched' };
      const stored = history.get(report.status);
      if (stored) return { outcome: 'duplicate', record: stored, current, sentOn: 'whatsapp' };
      const record = {
        orderId: ORDER,
        messageSid: SID,
        status: report.status,
        errorCode: report.errorCode,
        occurredAt: report.receivedAt,
        traceparent: SENT_IN_TRACE,
      };
      history.set(report.status, record);
      current = nextStatus(current, report.status);
      return { outcome: 'recorded', record, current, sentOn: 'whatsapp' };
    },
  };
  return { repository, current: () => current };
}

let app: FastifyInstance;
let published: StatusRecord[];
let traces: (string | undefined)[];
let state: ReturnType<typeof memoryStatusRepository>;

beforeEach(async () => {
  published = [];
  traces = [];
  state = memoryStatusRepository();
  const events: MessageEvents = {
    sent: async () => undefined,
    failed: async () => undefined,
    skipped: async () => undefined,
    status: async (record, trace) => {
      published.push(record);
      traces.push(trace.traceparent);
    },
  };
  app = Fastify();
  await statusCallbackRoutes({
    authToken: AUTH_TOKEN,
    callbackUrl: () => PUBLIC_URL,
    repository: state.repository,
    events,
    logger: pino({ level: 'silent' }),
  })(app);
  await app.ready();
});
afterEach(async () => {
  await app.close();
});

const params = (status: string, extra: Record<string, string> = {}) => ({
  AccountSid: `AC${'1'.repeat(32)}`,
  ApiVersion: '2010-04-01',
  ChannelPrefix: 'whatsapp',
  From: 'whatsapp:+14155238886',
  MessageSid: SID,
  MessageStatus: status,
  SmsSid: SID,
  SmsStatus: status,
  To: 'whatsapp:+447700900123',
  ...extra,
});

const { post, signed } = webhookRequests(() => app, '/twilio/status', PUBLIC_URL, AUTH_TOKEN);

describe('POST /twilio/status', () => {
  it('accepts a callback signed for the public URL and publishes its status', async () => {
    const res = await signed(params('delivered'));
    expect(res.statusCode).toBe(204);
    expect(published).toEqual([expect.objectContaining({ orderId: ORDER, status: 'delivered' })]);
  });

  it('publishes the status in the trace its message was sent in, not a new one', async () => {
    // Twilio sends no trace context; the request carries none.
    expect((await signed(params('delivered'))).statusCode).toBe(204);
    expect(traces).toEqual([SENT_IN_TRACE]);
  });

  it('refuses a missing or wrong signature with a 403 problem and records nothing', async () => {
    const body = params('read');
    const wrongUrl = twilio.getExpectedTwilioSignature(
      AUTH_TOKEN,
      'http://127.0.0.1:3002/twilio/status',
      body,
    );
    const wrongToken = twilio.getExpectedTwilioSignature('another-token', PUBLIC_URL, body);
    const tampered = twilio.getExpectedTwilioSignature(AUTH_TOKEN, PUBLIC_URL, params('sent'));
    for (const res of [
      await post(body),
      await post(body, wrongUrl),
      await post(body, wrongToken),
      await post(body, tampered),
    ]) {
      expect(res.statusCode).toBe(403);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.json()).toMatchObject({ status: 403, title: 'Forbidden' });
    }
    expect(published).toEqual([]);
    expect(state.current()).toBe('queued');
  });

  it('keeps the stored status moving forward when delivered arrives before sent', async () => {
    expect((await signed(params('delivered'))).statusCode).toBe(204);
    expect((await signed(params('sent'))).statusCode).toBe(204);
    expect(state.current()).toBe('delivered');
    expect(published.map((p) => p.status)).toEqual(['delivered', 'sent']);
  });

  it('re-publishes a repeated status exactly as first recorded', async () => {
    await signed(params('failed', { ErrorCode: '63016' }));
    await signed(params('failed', { ErrorCode: '63016' }));
    expect(published).toHaveLength(2);
    expect(published[1]).toEqual(published[0]);
    expect(published[0]).toMatchObject({ status: 'failed', errorCode: 63016 });
  });

  it('parks a status for a message it does not know yet with 202, publishing nothing', async () => {
    const res = await signed(
      params('sent', { MessageSid: `SM${'c'.repeat(32)}`, SmsSid: `SM${'c'.repeat(32)}` }),
    );
    expect(res.statusCode).toBe(202);
    expect(published).toEqual([]);
  });

  it('acknowledges statuses outside the WhatsApp lifecycle without publishing', async () => {
    expect((await signed(params('sending'))).statusCode).toBe(204);
    expect(published).toEqual([]);
  });

  it('answers 400 for a signed callback without a message SID', async () => {
    const { MessageSid: _a, SmsSid: _b, ...rest } = params('sent');
    expect((await signed(rest)).statusCode).toBe(400);
  });

  it('refuses bodies larger than a callback can be', async () => {
    const res = await signed(params('sent', { Padding: 'x'.repeat(CALLBACK_BODY_LIMIT) }));
    expect(res.statusCode).toBe(413);
    expect(published).toEqual([]);
  });
});
