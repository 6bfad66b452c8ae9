import { exampleMessages } from '@notify/contracts';
import { testDeliveryMeta } from '@notify/service-kit/testing';
import { describe, expect, it } from 'vitest';
import { assessOrder } from './assess-order.js';
import type { AssessmentRepository, AssessmentRequest, StoredAssessment } from './assess-order.js';
import { loadRules } from './fraud-rules.js';
import type { HistoryCounts } from './score-order.js';

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
  const calls = { requests: [] as AssessmentRequest[], published: [] as StoredAssessment[] };
  const repository: AssessmentRepository = {
    find: async () => existing,
    assessOnce: async (request, score) => {
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
    },
  };
  const events = { assessed: async (s: StoredAssessment) => void calls.published.push(s) };
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
