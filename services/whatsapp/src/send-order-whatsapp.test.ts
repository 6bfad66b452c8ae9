import { exampleMessages } from '@notify/contracts';
import { RetryableError } from '@notify/messaging';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type {
  AcceptedMessage,
  MessageLedger,
  OutboundWhatsapp,
  OutcomeEvents,
  SendOnceResult,
  SentRecord,
  StatusRecord,
} from './send-order-whatsapp.js';
import { sendOrderWhatsapp } from './send-order-whatsapp.js';
import { WhatsappRejectedError } from './twilio-failure.js';

const SID = `SM${'a'.repeat(32)}`;

/** The ledger's contract without a database: one message per order. */
function memoryLedger(): MessageLedger & { records: Map<string, SentRecord> } {
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
  const events: OutcomeEvents = {
    async sent(record) {
      published.push({ kind: 'sent', payload: record });
    },
    async status(record: StatusRecord) {
      published.push({ kind: 'status', payload: record });
    },
    async failed(failure) {
      published.push({ kind: 'failed', payload: failure });
    },
  };
  return { events, published };
}

function setup(send: (m: OutboundWhatsapp) => Promise<AcceptedMessage>) {
  const sent: OutboundWhatsapp[] = [];
  const ledger = memoryLedger();
  const { events, published } = recordingEvents();
  const lines: { level: number; msg: string }[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  const ports = {
    provider: {
      send: async (m: OutboundWhatsapp) => {
        sent.push(m);
        return send(m);
      },
    },
    ledger,
    events,
    content: { mode: 'session' as const, contentSid: '', contentSidsByLocale: {} },
    statusCallbackUrl: () => 'https://hooks.example.com/twilio/status',
  };
  const ctx = { messageId: `${exampleMessages.whatsapp.orderId}:whatsapp`, traceparent: undefined, logger };
  return { sent, ledger, published, ports, ctx, lines };
}

describe('sendOrderWhatsapp', () => {
  it('sends once with the status callback and publishes whatsapp.sent', async () => {
    const t = setup(async () => ({ sid: SID, status: 'queued' }));
    expect(await sendOrderWhatsapp(exampleMessages.whatsapp, t.ctx, t.ports)).toBe('sent');
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
    await sendOrderWhatsapp(exampleMessages.whatsapp, t.ctx, t.ports);
    expect(
      await sendOrderWhatsapp(exampleMessages.whatsapp, { ...t.ctx, messageId: 'replayed' }, t.ports),
    ).toBe('duplicate');
    expect(t.sent).toHaveLength(1);
    expect(t.published).toHaveLength(2);
    expect(t.published[1]).toEqual(t.published[0]);
  });

  it('publishes whatsapp.failed with Twilio’s code and re-throws a permanent refusal', async () => {
    const refusal = new WhatsappRejectedError(
      'Twilio answered 400 with error 21211: message refused',
      400,
      21211,
      false,
      {
        detail: "twilio-code=21211 status=400 Invalid 'To' Phone Number",
      },
    );
    const t = setup(async () => {
      throw refusal;
    });
    await expect(sendOrderWhatsapp(exampleMessages.whatsapp, t.ctx, t.ports)).rejects.toBe(refusal);
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
    expect(t.ledger.records.size).toBe(0);
  });

  it('logs rejected credentials as an error an operator cannot miss', async () => {
    const t = setup(async () => {
      throw new WhatsappRejectedError('Twilio answered 401 with error 20003', 401, 20003, true, {
        detail: 'x',
      });
    });
    await expect(sendOrderWhatsapp(exampleMessages.whatsapp, t.ctx, t.ports)).rejects.toBeInstanceOf(
      WhatsappRejectedError,
    );
    expect(t.lines).toContainEqual(
      expect.objectContaining({ level: 50, msg: expect.stringContaining('TWILIO CREDENTIALS REJECTED') }),
    );
  });

  it('publishes nothing for a transient failure, leaving the retry to the consumer', async () => {
    const t = setup(async () => {
      throw new RetryableError('Twilio answered 503');
    });
    await expect(sendOrderWhatsapp(exampleMessages.whatsapp, t.ctx, t.ports)).rejects.toBeInstanceOf(
      RetryableError,
    );
    expect(t.published).toEqual([]);
    expect(t.ledger.records.size).toBe(0);
  });
});
