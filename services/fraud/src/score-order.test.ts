import { exampleMessages } from '@notify/contracts';
import type { FraudMessage } from '@notify/contracts';
import { describe, expect, it } from 'vitest';
import { parseRules } from './fraud-rules.js';
import type { FraudRules } from './fraud-rules.js';
import { decide, historyWindows, scoreOrder } from './score-order.js';
import type { HistoryCounts } from './score-order.js';

// A rule set written out here, not read from rules/default.json, so these tests pin the
// scoring logic and an operator retuning the shipped file does not break them.
const rules: FraudRules = parseRules({
  version: 'test',
  decision: { reviewAt: 30, rejectAt: 60 },
  money: { referenceCurrency: 'EUR', exchangeRates: { GBP: 0.85, JPY: 160 } },
  amount: {
    tiers: [
      { atLeast: 500, points: 10 },
      { atLeast: 2000, points: 25 },
    ],
  },
  velocity: {
    email: {
      windowMinutes: 60,
      ignorePlusTag: true,
      tiers: [
        { atLeast: 3, points: 20 },
        { atLeast: 5, points: 40 },
      ],
    },
    phone: { windowMinutes: 60, tiers: [{ atLeast: 3, points: 15 }] },
    ip: { windowMinutes: 30, tiers: [{ atLeast: 4, points: 12 }] },
  },
  countryMismatch: { points: 15 },
  disposableEmail: { points: 30, domains: ['mailinator.com', 'yopmail.com'] },
  highRiskCountries: { points: 25, countries: ['KP', 'IR'] },
  skuQuantity: { atLeast: 10, points: 17 },
  newCustomerHighAmount: { lookbackDays: 180, atLeast: 1000, points: 11 },
});

const quiet: HistoryCounts = { email: 0, phone: 0, ip: 0, emailLookback: 1 };

// An order in EUR with no signal at all; each test changes one thing.
const base: FraudMessage = { ...exampleMessages.fraud, currency: 'EUR', amount: 1000 };
const order = (patch: Partial<FraudMessage>): FraudMessage => ({ ...base, ...patch });
const ids = (o: FraudMessage, h: HistoryCounts = quiet, r: FraudRules = rules) =>
  scoreOrder(o, h, r).rules.map((x) => x.id);

describe('scoreOrder', () => {
  it('approves an order without any signal, with score 0 and no rules', () => {
    expect(scoreOrder(base, quiet, rules)).toEqual({ score: 0, decision: 'approve', rules: [] });
  });

  it('approves the shared example message under the shipped-style rules', () => {
    expect(scoreOrder(exampleMessages.fraud, { ...quiet, emailLookback: 0 }, rules).decision).toBe('approve');
  });

  describe('amount tiers', () => {
    it('does not fire one minor unit below the first tier', () => {
      expect(ids(order({ amount: 49_999 }))).toEqual([]);
    });
    it('fires the first tier exactly at its threshold', () => {
      const a = scoreOrder(order({ amount: 50_000 }), quiet, rules);
      expect(a.rules).toEqual([
        { id: 'amount', points: 10, detail: 'order total 500.00 EUR is at least 500.00 EUR' },
      ]);
    });
    it('fires only the highest tier reached', () => {
      const a = scoreOrder(order({ amount: 200_000 }), quiet, rules);
      expect(a.rules).toHaveLength(1);
      expect(a.rules[0]).toMatchObject({ id: 'amount', points: 25 });
    });
    it('converts the threshold into the order currency with the configured rate', () => {
      // 500 EUR at 0.85 GBP per EUR is 425.00 GBP.
      expect(ids(order({ currency: 'GBP', amount: 42_499 }))).toEqual([]);
      const a = scoreOrder(order({ currency: 'GBP', amount: 42_500 }), quiet, rules);
      expect(a.rules[0]).toMatchObject({ id: 'amount', points: 10 });
      expect(a.rules[0]?.detail).toBe('order total 425.00 GBP is at least 425.00 GBP (500 EUR tier)');
    });
    it('respects currencies without minor units', () => {
      // 500 EUR at 160 JPY per EUR is 80000 JPY, and JPY amounts have no decimals.
      expect(ids(order({ currency: 'JPY', amount: 79_999 }))).toEqual([]);
      expect(ids(order({ currency: 'JPY', amount: 80_000 }))).toEqual(['amount']);
    });
    it('takes a currency without a configured rate 1:1 and says so', () => {
      const a = scoreOrder(order({ currency: 'USD', amount: 50_000 }), quiet, rules);
      expect(a.rules[0]?.detail).toContain('no USD rate');
    });
  });

  describe('velocity', () => {
    it('counts this order with the others: 2 others make the 3rd order and fire the first tier', () => {
      expect(ids(base, { ...quiet, email: 1 })).toEqual([]);
      const a = scoreOrder(base, { ...quiet, email: 2 }, rules);
      expect(a.rules).toEqual([
        {
          id: 'velocity.email',
          points: 20,
          detail: '3 orders from this email within 60 minutes of this one (itself included; tier 3)',
        },
      ]);
    });
    it('fires the highest email tier reached', () => {
      expect(scoreOrder(base, { ...quiet, email: 3 }, rules).rules[0]?.points).toBe(20);
      expect(scoreOrder(base, { ...quiet, email: 4 }, rules).rules[0]?.points).toBe(40);
      expect(scoreOrder(base, { ...quiet, email: 400 }, rules).rules[0]?.points).toBe(40);
    });
    it('fires per phone number at its own boundary', () => {
      expect(ids(base, { ...quiet, phone: 1 })).toEqual([]);
      expect(ids(base, { ...quiet, phone: 2 })).toEqual(['velocity.phone']);
    });
    it('fires per IP at its own boundary and not when the order has no IP', () => {
      expect(ids(base, { ...quiet, ip: 2 })).toEqual([]);
      expect(ids(base, { ...quiet, ip: 3 })).toEqual(['velocity.ip']);
      expect(ids(base, { ...quiet, ip: null })).toEqual([]);
    });
    it('fires nothing when a velocity rule has no tiers', () => {
      const off = {
        ...rules,
        velocity: { ...rules.velocity, email: { ...rules.velocity.email, tiers: [] } },
      };
      expect(ids(base, { ...quiet, email: 50 }, off)).toEqual([]);
    });
    it('sums the rules: email and phone together push a burst to review', () => {
      const a = scoreOrder(base, { ...quiet, email: 2, phone: 2 }, rules);
      expect(a).toMatchObject({ score: 35, decision: 'review' });
    });
  });

  describe('country rules', () => {
    const de = { ...base.billingAddress, country: 'DE' };
    it('fires when billing and shipping countries differ', () => {
      const a = scoreOrder(order({ billingAddress: de }), quiet, rules);
      expect(a.rules).toEqual([
        { id: 'country.mismatch', points: 15, detail: 'billing country DE differs from shipping country GB' },
      ]);
    });
    it('does not fire for the same country', () => {
      expect(ids(order({ billingAddress: { ...de, country: 'GB' } }))).toEqual([]);
    });
    it('fires once for a high-risk country on either address, naming both when both are', () => {
      const kp = { ...base.shippingAddress, country: 'KP' };
      expect(ids(order({ shippingAddress: kp, billingAddress: kp }))).toEqual(['country.high_risk']);
      const a = scoreOrder(order({ shippingAddress: kp, billingAddress: kp }), quiet, rules);
      expect(a.rules[0]?.detail).toBe('shipping country KP and billing country KP on the high-risk list');
      expect(ids(order({ billingAddress: kp }))).toEqual(['country.mismatch', 'country.high_risk']);
    });
  });

  describe('disposable email', () => {
    const withEmail = (email: string) => order({ customer: { ...base.customer, email } });
    it('fires for a listed domain, whatever its case', () => {
      const a = scoreOrder(withEmail('Someone@MAILINATOR.com'), quiet, rules);
      expect(a.rules).toEqual([
        {
          id: 'email.disposable',
          points: 30,
          detail: 'email domain mailinator.com is a disposable mail provider',
        },
      ]);
    });
    it('fires for a subdomain of a listed domain', () => {
      expect(scoreOrder(withEmail('x@eu.yopmail.com'), quiet, rules).rules[0]?.detail).toBe(
        'email domain eu.yopmail.com is a disposable mail provider (yopmail.com)',
      );
    });
    it('does not fire for a domain that merely ends with the same letters', () => {
      expect(ids(withEmail('x@notmailinator.com'))).toEqual([]);
    });
  });

  describe('many units of one SKU', () => {
    it('does not fire one unit below the threshold', () => {
      expect(ids(order({ items: [{ sku: 'A', quantity: 9, unitPrice: 10 }] }))).toEqual([]);
    });
    it('fires at the threshold', () => {
      const a = scoreOrder(order({ items: [{ sku: 'A', quantity: 10, unitPrice: 10 }] }), quiet, rules);
      expect(a.rules).toEqual([
        { id: 'sku.quantity', points: 17, detail: '10 x A (at least 10 units of one SKU)' },
      ]);
    });
    it('adds up lines of the same SKU but not of different SKUs', () => {
      const split = [
        { sku: 'A', quantity: 6, unitPrice: 10 },
        { sku: 'A', quantity: 4, unitPrice: 10 },
      ];
      expect(ids(order({ items: split }))).toEqual(['sku.quantity']);
      const mixed = [
        { sku: 'A', quantity: 6, unitPrice: 10 },
        { sku: 'B', quantity: 4, unitPrice: 10 },
      ];
      expect(ids(order({ items: mixed }))).toEqual([]);
    });
  });

  describe('new customer with a high amount', () => {
    const firstOrder: HistoryCounts = { ...quiet, emailLookback: 0 };
    it('fires for a first order at the threshold', () => {
      const a = scoreOrder(order({ amount: 100_000 }), firstOrder, rules);
      expect(a.rules.map((r) => r.id)).toEqual(['amount', 'customer.new_high_amount']);
      expect(a.rules[1]?.detail).toBe(
        'no other order from this email in 180 days and a total of 1000.00 EUR (at least 1000.00 EUR)',
      );
    });
    it('does not fire below the threshold', () => {
      expect(ids(order({ amount: 99_999 }), firstOrder)).toEqual(['amount']);
    });
    it('does not fire for a customer seen before', () => {
      expect(ids(order({ amount: 100_000 }), { ...firstOrder, emailLookback: 1 })).toEqual(['amount']);
    });
  });

  describe('score and decision', () => {
    it('caps the score at 100 and rejects', () => {
      const kp = { ...base.shippingAddress, country: 'KP' };
      const a = scoreOrder(
        order({
          amount: 500_000,
          customer: { ...base.customer, email: 'x@mailinator.com' },
          billingAddress: kp,
          items: [{ sku: 'A', quantity: 50, unitPrice: 10_000 }],
        }),
        { email: 10, phone: 10, ip: 10, emailLookback: 0 },
        rules,
      );
      expect(a.rules.reduce((s, r) => s + r.points, 0)).toBeGreaterThan(100);
      expect(a).toMatchObject({ score: 100, decision: 'reject' });
    });
    it('switches decision exactly at the thresholds', () => {
      const t = rules.decision;
      expect(decide(t.reviewAt - 1, t)).toBe('approve');
      expect(decide(t.reviewAt, t)).toBe('review');
      expect(decide(t.rejectAt - 1, t)).toBe('review');
      expect(decide(t.rejectAt, t)).toBe('reject');
      expect(decide(0, t)).toBe('approve');
      expect(decide(100, t)).toBe('reject');
    });
    it('never reviews when both thresholds are equal', () => {
      const t = { reviewAt: 50, rejectAt: 50 };
      expect([decide(49, t), decide(50, t)]).toEqual(['approve', 'reject']);
    });
    it('omits a rule whose points are set to 0', () => {
      expect(
        ids(order({ billingAddress: { ...base.billingAddress, country: 'DE' } }), quiet, {
          ...rules,
          countryMismatch: { points: 0 },
        }),
      ).toEqual([]);
    });
    it('keeps every detail within the event limit', () => {
      const items = Array.from({ length: 60 }, (_, i) => ({
        sku: `SKU-LONG-NAME-${i}`,
        quantity: 100,
        unitPrice: 1,
      }));
      const a = scoreOrder(order({ items }), quiet, rules);
      expect(a.rules[0]?.detail.length).toBeLessThanOrEqual(300);
      expect(a.rules[0]?.detail).toMatch(/^100 x SKU-LONG-NAME-0, .*…$/);
    });
  });

  it('asks the history port for the windows the rules set', () => {
    expect(historyWindows(rules)).toEqual({
      emailMinutes: 60,
      phoneMinutes: 60,
      ipMinutes: 30,
      lookbackMinutes: 180 * 24 * 60,
    });
  });
});
