import { randomUUID } from 'node:crypto';
import { CHANNELS, validate } from '@notify/contracts';
import type { Contract } from '@notify/contracts';
import { describe, expect, it } from 'vitest';
import { channelUpdateOf, OUTCOME_CONTRACTS } from './outcome-events.js';
import type { OutcomeDelivery } from './outcome-events.js';

const orderId = randomUUID();
const occurredAt = '2026-11-23T12:00:00.000Z';
const sid = `SM${'0'.repeat(32)}`;

const samples: OutcomeDelivery[] = [
  {
    key: 'email.sent',
    payload: { orderId, occurredAt, recipient: 'a@example.com', smtpMessageId: '<m@x>', locale: 'en' },
  },
  {
    key: 'email.failed',
    payload: { orderId, occurredAt, reason: 'mailbox unknown', smtpResponse: '550 5.1.1' },
  },
  {
    key: 'whatsapp.sent',
    payload: { orderId, occurredAt, to: '+15551234567', messageSid: sid, status: 'queued' },
  },
  {
    key: 'whatsapp.status',
    payload: { orderId, occurredAt, messageSid: sid, status: 'undelivered', errorCode: 63016 },
  },
  {
    key: 'whatsapp.failed',
    payload: { orderId, occurredAt, reason: 'not a WhatsApp number', errorCode: 63003 },
  },
  { key: 'email.skipped', payload: { orderId, occurredAt, reason: 'the customer opted out of email' } },
  { key: 'whatsapp.skipped', payload: { orderId, occurredAt, reason: 'the number opted out (STOP)' } },
  {
    key: 'whatsapp.sent',
    payload: {
      orderId,
      occurredAt,
      to: '+15551234567',
      messageSid: sid,
      status: 'queued',
      via: 'sms',
      fallbackReason: 'not a WhatsApp user (63003)',
    },
  },
  {
    key: 'shipment.created',
    payload: {
      orderId,
      occurredAt,
      shipmentId: randomUUID(),
      carrier: 'DHL',
      serviceLevel: 'standard',
      trackingNumber: 'JD0001',
      estimatedDelivery: '2026-11-26',
      totalWeightGrams: 1200,
    },
  },
  { key: 'shipment.rejected', payload: { orderId, occurredAt, reason: 'no carrier serves this country' } },
  {
    key: 'payment.authorized',
    payload: {
      orderId,
      occurredAt,
      authorizationId: 'auth_1',
      amount: 1000,
      currency: 'EUR',
      gateway: 'sandbox',
    },
  },
  {
    key: 'payment.declined',
    payload: {
      orderId,
      occurredAt,
      code: 'insufficient_funds',
      reason: 'declined',
      amount: 1000,
      currency: 'EUR',
      gateway: 'sandbox',
    },
  },
  {
    key: 'fraud.assessed',
    payload: {
      orderId,
      occurredAt,
      score: 70,
      decision: 'review',
      rules: [{ id: 'velocity', points: 40, detail: 'many orders' }],
    },
  },
  ...CHANNELS.flatMap((channel): OutcomeDelivery[] => [
    {
      key: `${channel}.retrying`,
      payload: { orderId, occurredAt, channel, attempt: 2, delayMs: 4000, reason: 'timeout' },
    },
    {
      key: `${channel}.dead_lettered`,
      payload: { orderId, occurredAt, channel, attempts: 5, reason: 'max-attempts-exceeded' },
    },
  ]),
];

describe('channelUpdateOf', () => {
  it('has a sample for every contract the event queue carries, and each sample is valid', () => {
    expect(new Set(samples.map((s) => s.key))).toEqual(new Set(OUTCOME_CONTRACTS.map((c) => c.routingKey)));
    for (const s of samples) {
      const contract: Contract = OUTCOME_CONTRACTS.find((c) => c.routingKey === s.key)!;
      expect(validate(contract, s.payload).ok, s.key).toBe(true);
    }
  });

  it('maps each event to its channel and kind, with the details a client wants', () => {
    const by = (key: string) => channelUpdateOf(samples.find((s) => s.key === key)!);
    expect(by('email.sent')).toMatchObject({
      orderId,
      channel: 'email',
      event: { kind: 'succeeded', details: { smtpMessageId: '<m@x>' } },
    });
    expect(by('email.failed').event).toMatchObject({
      kind: 'failed',
      details: { failure: { smtpResponse: '550 5.1.1' } },
    });
    expect(by('whatsapp.sent').event).toMatchObject({
      kind: 'delivery',
      status: 'queued',
      details: { to: '+15551234567', messageSid: sid },
    });
    for (const c of ['email', 'whatsapp'] as const) {
      // Skipped is final and counts towards completion: the channel did what the customer wanted.
      expect(by(`${c}.skipped`)).toMatchObject({
        channel: c,
        event: { kind: 'succeeded', details: { skipped: { reason: expect.stringContaining('opted out') } } },
      });
    }
    const viaSms = channelUpdateOf(samples.filter((s) => s.key === 'whatsapp.sent')[1]!);
    expect(viaSms.event).toMatchObject({ kind: 'delivery', details: { via: 'sms' } });
    expect(by('whatsapp.status').event).toMatchObject({
      kind: 'delivery',
      status: 'undelivered',
      details: { errorCode: 63016 },
    });
    expect(by('whatsapp.failed')).toMatchObject({ channel: 'whatsapp', event: { kind: 'failed' } });
    expect(by('shipment.created')).toMatchObject({
      channel: 'logistic',
      event: { kind: 'succeeded', details: { carrier: 'DHL', trackingNumber: 'JD0001' } },
    });
    expect(by('shipment.created').event).not.toHaveProperty('details.orderId');
    expect(by('shipment.rejected')).toMatchObject({ channel: 'logistic', event: { kind: 'failed' } });
    expect(by('payment.authorized')).toMatchObject({
      channel: 'payment',
      event: { kind: 'succeeded', details: { authorizationId: 'auth_1' } },
    });
    expect(by('payment.declined').event).toMatchObject({
      kind: 'failed',
      details: { failure: { code: 'insufficient_funds' } },
    });
    expect(by('fraud.assessed')).toMatchObject({
      channel: 'fraud',
      event: { kind: 'succeeded', details: { score: 70, decision: 'review' } },
    });
    for (const c of CHANNELS) {
      expect(by(`${c}.retrying`)).toMatchObject({
        channel: c,
        event: { kind: 'retrying', attempt: 2, delayMs: 4000 },
      });
      expect(by(`${c}.dead_lettered`)).toMatchObject({
        channel: c,
        event: { kind: 'dead_lettered', attempts: 5 },
      });
    }
  });
});
