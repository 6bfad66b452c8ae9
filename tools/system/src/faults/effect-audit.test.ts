import { CHANNELS } from '@notify/contracts';
import { describe, expect, it } from 'vitest';
import { channelStatesCheck, judgeOrder, summarise } from './effect-audit.js';
import type { AcceptedOrder, CrashWindow, EffectSnapshot, ProviderCopy, RowEffect } from './effect-audit.js';

const order: AcceptedOrder = {
  orderId: '11111111-1111-4111-8111-111111111111',
  email: 'Order-1@Example.com',
  phone: '+447000000001',
  acceptedAt: 1_000,
};
const row = (at: number, count = 1, ok = true): RowEffect => ({ count, at, ok });

function snapshot(over: Partial<EffectSnapshot> = {}): EffectSnapshot {
  return {
    stored: new Set([order.orderId]),
    mails: new Map([['order-1@example.com', [{ at: 2_000, key: '<m1@shop>' }]]]),
    whatsapps: new Map([[order.phone, [{ at: 2_100, key: 'SM1' }]]]),
    emailRecords: new Map([[order.orderId, { sent: true, smtpMessageId: '<m1@shop>' }]]),
    whatsappRecords: new Map([[order.orderId, { sid: 'SM1' }]]),
    shipments: new Map([[order.orderId, row(2_200)]]),
    payments: new Map([[order.orderId, row(2_300)]]),
    assessments: new Map([[order.orderId, row(2_400)]]),
    ...over,
  };
}

/** The order API's view with every channel succeeded. */
const allSucceeded: Record<string, string> = Object.fromEntries(CHANNELS.map((c) => [c, 'succeeded']));

const crash = (effect: CrashWindow['effect'], from: number, to: number): CrashWindow => ({
  effect,
  from,
  to,
  cause: 'killed',
});

describe('judging one order', () => {
  it('is complete when all five effects happened once, at the time of the last one', () => {
    const v = judgeOrder(order, snapshot(), []);
    expect(v).toMatchObject({ complete: true, missing: [], duplicates: [], windowDuplicates: [] });
    expect(v.completedAt).toBe(2_400);
  });

  it('names every effect that is missing, and an order the API never stored', () => {
    const v = judgeOrder(
      order,
      snapshot({ stored: new Set(), mails: new Map(), shipments: new Map(), whatsappRecords: new Map() }),
      [],
    );
    expect(v.complete).toBe(false);
    expect(v.missing).toEqual([
      'order row (answered 201 but not stored)',
      'email',
      'whatsapp record',
      'logistic',
    ]);
    expect(v.completedAt).toBeUndefined();
  });

  it('counts an email that was received but never recorded as sent as missing its record', () => {
    const v = judgeOrder(
      order,
      snapshot({ emailRecords: new Map([[order.orderId, { sent: false, smtpMessageId: '<m1@shop>' }]]) }),
      [],
    );
    expect(v.missing).toEqual(['email record']);
  });

  it('calls a second email a duplicate when no crash window explains it', () => {
    const mails = new Map([
      [
        'order-1@example.com',
        [
          { at: 2_000, key: '<m1@shop>' },
          { at: 9_000, key: '<m1@shop>' },
        ],
      ],
    ]);
    expect(judgeOrder(order, snapshot({ mails }), []).duplicates).toEqual(['email x2']);
    expect(judgeOrder(order, snapshot({ mails }), [crash('whatsapp', 1_000, 3_000)]).duplicates).toEqual([
      'email x2',
    ]);
  });

  it('puts a resent email with the same Message-ID, first accepted inside a crash window, in the window', () => {
    const mails = new Map<string, ProviderCopy[]>([
      [
        'order-1@example.com',
        [
          { at: 2_000, key: '<m1@shop>' },
          { at: 9_000, key: '<m1@shop>' },
        ],
      ],
    ]);
    const v = judgeOrder(order, snapshot({ mails }), [crash('email', 1_500, 2_500)]);
    expect(v.duplicates).toEqual([]);
    expect(v.windowDuplicates).toEqual(['email x2']);
    expect(v.complete).toBe(true);
  });

  it('never excuses two different emails, window or not', () => {
    const mails = new Map<string, ProviderCopy[]>([
      [
        'order-1@example.com',
        [
          { at: 2_000, key: '<m1@shop>' },
          { at: 9_000, key: '<m2@shop>' },
        ],
      ],
    ]);
    expect(judgeOrder(order, snapshot({ mails }), [crash('email', 1_500, 2_500)]).duplicates).toEqual([
      'email x2',
    ]);
  });

  it('excuses an unrecorded WhatsApp copy only if it was accepted inside a window', () => {
    const whatsapps = new Map<string, ProviderCopy[]>([
      [
        order.phone,
        [
          { at: 2_000, key: 'SM0' },
          { at: 8_000, key: 'SM1' },
        ],
      ],
    ]);
    expect(judgeOrder(order, snapshot({ whatsapps }), [crash('whatsapp', 1_000, 2_500)])).toMatchObject({
      duplicates: [],
      windowDuplicates: ['whatsapp x2'],
    });
    expect(judgeOrder(order, snapshot({ whatsapps }), [crash('whatsapp', 3_000, 4_000)]).duplicates).toEqual([
      'whatsapp x2',
    ]);
    // The service recorded neither copy: nothing explains the pair.
    expect(
      judgeOrder(order, snapshot({ whatsapps, whatsappRecords: new Map() }), [crash('whatsapp', 0, 10_000)])
        .duplicates,
    ).toEqual(['whatsapp x2']);
  });

  it('reports a second shipment, authorisation or assessment as a duplicate', () => {
    const v = judgeOrder(
      order,
      snapshot({
        shipments: new Map([[order.orderId, row(2_200, 2)]]),
        payments: new Map([[order.orderId, row(2_300, 3)]]),
      }),
      [crash('email', 0, 10_000)],
    );
    expect(v.duplicates).toEqual(['logistic x2', 'payment x3']);
  });

  it('treats a declined payment for an approving token as a missing outcome', () => {
    const v = judgeOrder(order, snapshot({ payments: new Map([[order.orderId, row(2_300, 1, false)]]) }), []);
    expect(v.missing).toEqual(['payment (unexpected outcome)']);
  });

  it('requires the API to show every channel succeeded once it reports outcomes', () => {
    const states = { ...allSucceeded, payment: 'retrying' };
    const v = judgeOrder(
      order,
      snapshot({ apiStates: new Map([[order.orderId, states]]), apiSuccessStates: ['succeeded'] }),
      [],
    );
    expect(v.missing).toEqual(['API payment state retrying']);
  });
});

describe('summarising a scenario', () => {
  const second: AcceptedOrder = {
    ...order,
    orderId: '22222222-2222-4222-8222-222222222222',
    acceptedAt: 5_000,
  };

  it('counts lost and duplicated orders and measures recovery from the end of the fault', () => {
    const s = snapshot();
    const both = {
      ...s,
      stored: new Set([order.orderId, second.orderId]),
    };
    const summary = summarise([order, second], both, [], 1_500);
    expect(summary).toMatchObject({ accepted: 2, lost: 1, duplicated: 0 });
    // Only orders accepted before the fault ended count for recovery: the first, done at 2400.
    expect(summary.recoveryMs).toBe(900);
  });

  it('has no recovery time while an order accepted before the end of the fault is incomplete', () => {
    const summary = summarise([order], snapshot({ assessments: new Map() }), [], 1_500);
    expect(summary.recoveryMs).toBeUndefined();
    expect(summary.lost).toBe(1);
  });

  it('reports zero recovery when everything was done before the fault ended', () => {
    expect(summarise([order], snapshot(), [], 10_000).recoveryMs).toBe(0);
  });
});

describe('the channel-state check of the order API', () => {
  it('holds when the API shows all five channels succeeded for every order', () => {
    const s = snapshot({
      apiStates: new Map([[order.orderId, allSucceeded]]),
      apiSuccessStates: ['succeeded'],
    });
    expect(channelStatesCheck(summarise([order], s, [], undefined))).toMatchObject({
      ok: true,
      detail: '1 of 1 orders',
    });
  });

  it('fails, naming the order and channel, when a channel is not in its final state or the order is not reported', () => {
    const s = snapshot({
      apiStates: new Map([[order.orderId, { ...allSucceeded, whatsapp: 'published' }]]),
      apiSuccessStates: ['succeeded'],
    });
    const c = channelStatesCheck(summarise([order], s, [], undefined));
    expect(c.ok).toBe(false);
    expect(c.detail).toBe(`1 of 1 orders not there, e.g. ${order.orderId}: API whatsapp state published`);
    const unreported = snapshot({ apiStates: new Map(), apiSuccessStates: ['succeeded'] });
    expect(channelStatesCheck(summarise([order], unreported, [], undefined)).ok).toBe(false);
  });

  it('is not about the providers: an order missing its mail but shown succeeded passes this check', () => {
    const s = snapshot({
      mails: new Map(),
      apiStates: new Map([[order.orderId, allSucceeded]]),
      apiSuccessStates: ['succeeded'],
    });
    expect(channelStatesCheck(summarise([order], s, [], undefined)).ok).toBe(true);
  });
});
