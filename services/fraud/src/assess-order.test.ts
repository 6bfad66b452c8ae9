import { exampleMessages } from '@notify/contracts';
import { testDeliveryMeta } from '@notify/service-kit/testing';
import { describe, expect, it } from 'vitest';
import { assessOrder, assessOrders } from './assess-order.js';
import type { AssessmentRepository, AssessmentRequest, StoredAssessment } from './assess-order.js';
import { loadRules } from './fraud-rules.js';
import type { Assessment, HistoryCounts } from './score-order.js';

const rules = { ...loadRules(), version: 'unit' };

const stored: StoredAssessment = {
  orderId: exampleMessages.fraud.orderId,
  assessedAt: '2026-11-23T09:00:01.000Z',
  rulesVersion: 'earlier',
  history: { email: 0, phone: 0, ip: 0, emailLookback: 0 },
  score: 15,
  decision: 'approve',
  rules: [
    { id: 'country.mismatch', points: 15, detail: 'billing country DE differs from shipping country GB' },
  ],
};

/** Records what the use case asks of its ports. */
function ports(existing: StoredAssessment | undefined, history: HistoryCounts) {
  const calls = {
    requests: [] as AssessmentRequest[],
    published: [] as StoredAssessment[],
    windows: 0,
    unconfirmed: undefined as string | undefined,
  };
  const assess = (request: AssessmentRequest, score: (h: HistoryCounts) => Assessment) => {
    calls.requests.push(request);
    const a = score(history);
    return {
      stored: {
        ...a,
        orderId: request.orderId,
        assessedAt: 'now',
        rulesVersion: request.rulesVersion,
        history,
      },
      created: true,
    };
  };
  const repository: AssessmentRepository = {
    find: async () => existing,
    findMany: async (ids) =>
      new Map(
        existing ? ids.filter((id) => id === existing.orderId).map((id) => [id, existing] as const) : [],
      ),
    assessOnce: async (request, score) => assess(request, score),
    assessAll: async (items) => {
      calls.windows++;
      return items.map((i) => assess(i.request, i.score));
    },
  };
  const events = {
    assessed: async (s: StoredAssessment) => {
      if (s.orderId === calls.unconfirmed) throw new Error('publish not confirmed');
      calls.published.push(s);
    },
  };
  return { repository, events, calls };
}

describe('assessOrder', () => {
  it('re-publishes a stored assessment without scoring or storing again', async () => {
    const { repository, events, calls } = ports(stored, { email: 9, phone: 9, ip: 9, emailLookback: 9 });
    const out = await assessOrder(exampleMessages.fraud, testDeliveryMeta({ messageId: 'm-2' }), {
      repository,
      events,
      rules,
    });
    expect(out).toEqual({ kind: 'duplicate', assessment: stored });
    expect(calls.requests).toEqual([]);
    expect(calls.published).toEqual([stored]);
  });

  it('asks the store for the normalised keys and the rules windows, then publishes what was stored', async () => {
    const { repository, events, calls } = ports(undefined, { email: 99, phone: 0, ip: 0, emailLookback: 99 });
    const order = {
      ...exampleMessages.fraud,
      customer: { ...exampleMessages.fraud.customer, email: 'Ada+Shop@Example.com' },
      metadata: { ip: '::ffff:203.0.113.7' },
    };
    const out = await assessOrder(order, testDeliveryMeta({ messageId: 'm-1' }), {
      repository,
      events,
      rules,
    });
    expect(calls.requests).toEqual([
      {
        orderId: order.orderId,
        messageId: 'm-1',
        placedAt: order.placedAt,
        keys: { email: 'ada@example.com', phone: order.customer.phone, ip: '203.0.113.7' },
        windows: {
          emailMinutes: rules.velocity.email.windowMinutes,
          phoneMinutes: rules.velocity.phone.windowMinutes,
          ipMinutes: rules.velocity.ip.windowMinutes,
          lookbackMinutes: rules.newCustomerHighAmount.lookbackDays * 1440,
        },
        rulesVersion: 'unit',
        amount: order.amount,
        currency: order.currency,
      },
    ]);
    expect(out.kind).toBe('assessed');
    expect(out.assessment.rules.map((r) => r.id)).toEqual(['velocity.email']);
    expect(calls.published).toEqual([out.assessment]);
  });

  it('passes no IP key for an order without one', async () => {
    const { repository, events, calls } = ports(undefined, {
      email: 0,
      phone: 0,
      ip: null,
      emailLookback: 1,
    });
    await assessOrder({ ...exampleMessages.fraud, metadata: {} }, testDeliveryMeta({ messageId: 'm-3' }), {
      repository,
      events,
      rules,
    });
    expect(calls.requests[0]?.keys.ip).toBeNull();
  });
});

describe('assessOrders (a window)', () => {
  const other = (orderId: string) => ({ ...exampleMessages.fraud, orderId });
  const ids = ['11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222'];

  it('re-publishes the stored assessment and scores the new orders in one store call', async () => {
    const { repository, events, calls } = ports(stored, { email: 0, phone: 0, ip: 0, emailLookback: 0 });
    const results = await assessOrders(
      [
        { order: exampleMessages.fraud, meta: testDeliveryMeta({ messageId: 'm-1' }) },
        { order: other(ids[0]!), meta: testDeliveryMeta({ messageId: 'm-2' }) },
        { order: other(ids[1]!), meta: testDeliveryMeta({ messageId: 'm-3' }) },
      ],
      { repository, events, rules },
    );
    expect(results.map((r) => r.status === 'fulfilled' && r.value.kind)).toEqual([
      'duplicate',
      'assessed',
      'assessed',
    ]);
    expect(calls.windows).toBe(1);
    expect(calls.requests.map((r) => r.messageId)).toEqual(['m-2', 'm-3']);
    expect(calls.published.map((p) => p.orderId)).toEqual([stored.orderId, ...ids]);
  });

  it('fails only the message whose assessment the broker did not confirm', async () => {
    const { repository, events, calls } = ports(undefined, { email: 0, phone: 0, ip: 0, emailLookback: 0 });
    calls.unconfirmed = ids[0];
    const results = await assessOrders(
      [
        { order: other(ids[0]!), meta: testDeliveryMeta({ messageId: 'm-1' }) },
        { order: other(ids[1]!), meta: testDeliveryMeta({ messageId: 'm-2' }) },
      ],
      { repository, events, rules },
    );
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled']);
    expect(calls.published.map((p) => p.orderId)).toEqual([ids[1]]);
  });
});
