import { describe, expect, it } from 'vitest';
import { chooseCarrier, totalWeightGrams } from './choose-carrier.js';
import { checkShippingRules, loadShippingRules } from './shipping-rules.js';
import type { ShippingRules } from './shipping-rules.js';

const rules: ShippingRules = {
  maxWeightGrams: 30_000,
  dispatchCutoffHourUtc: 15,
  holidays: [],
  zones: [
    { id: 'domestic', countries: ['GB'], transitBusinessDays: { standard: 2, express: 1 } },
    { id: 'europe', countries: ['FR', 'DE', 'IE'], transitBusinessDays: { standard: 5, express: 2 } },
    { id: 'world', countries: ['US'], transitBusinessDays: { express: 4 } },
  ],
  carriers: [
    { id: 'post', name: 'Post', tracking: { scheme: 's10', serviceIndicator: 'RR', originCountry: 'GB' } },
    { id: 'courier', name: 'Courier', tracking: { scheme: 'luhn', prefix: 'CX', serialDigits: 10 } },
    { id: 'island', name: 'Island Freight', tracking: { scheme: 'luhn', prefix: 'IF', serialDigits: 8 } },
  ],
  rules: [
    { countries: ['IE'], maxWeightGrams: 30_000, carrier: 'island', serviceLevel: 'standard' },
    { zone: 'domestic', maxWeightGrams: 2_000, carrier: 'post', serviceLevel: 'standard' },
    {
      zone: 'domestic',
      minWeightGrams: 2_001,
      maxWeightGrams: 30_000,
      carrier: 'courier',
      serviceLevel: 'standard',
    },
    { zone: 'europe', maxWeightGrams: 2_000, carrier: 'post', serviceLevel: 'standard' },
    { zone: 'europe', maxWeightGrams: 30_000, carrier: 'courier', serviceLevel: 'express' },
    { zone: 'world', maxWeightGrams: 20_000, carrier: 'courier', serviceLevel: 'express' },
  ],
};

describe('totalWeightGrams', () => {
  it('counts every unit of every line', () => {
    expect(
      totalWeightGrams([
        { quantity: 2, weightGrams: 450 },
        { quantity: 3, weightGrams: 1_000 },
        { quantity: 1, weightGrams: 0 },
      ]),
    ).toBe(3_900);
  });
});

describe('chooseCarrier', () => {
  it('picks the first rule whose zone and weight band match', () => {
    expect(chooseCarrier(rules, 'GB', 900)).toMatchObject({
      ok: true,
      carrier: { id: 'post' },
      serviceLevel: 'standard',
      zone: { id: 'domestic' },
      transitBusinessDays: 2,
      totalWeightGrams: 900,
    });
    expect(chooseCarrier(rules, 'GB', 2_000)).toMatchObject({ carrier: { id: 'post' } });
    expect(chooseCarrier(rules, 'GB', 2_001)).toMatchObject({ carrier: { id: 'courier' } });
    expect(chooseCarrier(rules, 'DE', 5_000)).toMatchObject({
      carrier: { id: 'courier' },
      serviceLevel: 'express',
      transitBusinessDays: 2,
    });
  });

  it('lets a country rule listed first override its zone', () => {
    expect(chooseCarrier(rules, 'IE', 100)).toMatchObject({
      carrier: { id: 'island' },
      zone: { id: 'europe' },
      transitBusinessDays: 5,
    });
  });

  it('refuses a country in no zone, naming it', () => {
    expect(chooseCarrier(rules, 'BR', 100)).toEqual({
      ok: false,
      code: 'unsupported-country',
      reason: 'we do not ship to BR',
    });
  });

  it('refuses an order over the overall limit', () => {
    const r = chooseCarrier(rules, 'GB', 30_001);
    expect(r).toMatchObject({ ok: false, code: 'overweight' });
    expect(!r.ok && r.reason).toBe('total weight 30001 g exceeds the limit of 30000 g per shipment');
  });

  it('refuses an order over the limit of its destination even when under the overall limit', () => {
    const r = chooseCarrier(rules, 'US', 25_000);
    expect(r).toMatchObject({ ok: false, code: 'overweight' });
    expect(!r.ok && r.reason).toContain('limit of 20000 g for shipments to US');
  });

  it('says so when no band covers a weight under the limit', () => {
    const gap: ShippingRules = {
      ...rules,
      rules: [
        {
          zone: 'domestic',
          minWeightGrams: 500,
          maxWeightGrams: 30_000,
          carrier: 'post',
          serviceLevel: 'standard',
        },
      ],
    };
    expect(chooseCarrier(gap, 'GB', 100)).toMatchObject({ ok: false, code: 'no-service' });
  });
});

describe('shipping rule table', () => {
  it('the table shipped with the service is valid and serves the example destinations', () => {
    const shipped = loadShippingRules();
    expect(chooseCarrier(shipped, 'GB', 900)).toMatchObject({ ok: true });
    expect(chooseCarrier(shipped, 'DE', 10_000)).toMatchObject({ ok: true });
    expect(chooseCarrier(shipped, 'KP', 900)).toMatchObject({ ok: false, code: 'unsupported-country' });
  });

  it('accepts the test table', () => {
    expect(checkShippingRules(rules)).toEqual({ ok: true, rules });
  });

  it('names a field that does not fit the schema', () => {
    const bad = structuredClone(rules) as unknown as { zones: { countries: string[] }[] };
    bad.zones[0]!.countries.push('UK');
    (bad as unknown as { holidays: string[] }).holidays.push('2026-02-30');
    const r = checkShippingRules(bad);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.problems).toEqual([
      '/holidays/0 must be a valid date',
      '/zones/0/countries/1 must be one of the allowed values',
    ]);
  });

  it('finds references that do not resolve and contradictions', () => {
    const bad = structuredClone(rules);
    bad.zones.push({ id: 'domestic', countries: ['FR'], transitBusinessDays: { standard: 1 } });
    bad.rules.push(
      { zone: 'moon', maxWeightGrams: 10, carrier: 'post', serviceLevel: 'standard' },
      { zone: 'world', maxWeightGrams: 10, carrier: 'rocket', serviceLevel: 'standard' },
      { zone: 'domestic', minWeightGrams: 20, maxWeightGrams: 10, carrier: 'post', serviceLevel: 'standard' },
      { countries: ['JP'], maxWeightGrams: 10, carrier: 'post', serviceLevel: 'standard' },
    );
    const r = checkShippingRules(bad);
    expect(r.ok).toBe(false);
    const problems = r.ok ? [] : r.problems;
    expect(problems).toEqual(
      expect.arrayContaining([
        'zone "domestic" is defined twice',
        'country FR is in zones "europe" and "domestic"',
        'rules/6 names unknown zone "moon"',
        'rules/7 names unknown carrier "rocket"',
        'rules/7 uses service level "standard", which zone "world" has no transit time for',
        'rules/8 has minWeightGrams above maxWeightGrams',
        'rules/9 names JP, which is in no zone (its transit time is unknown)',
      ]),
    );
  });

  it('refuses a file that is missing or not JSON, naming the file', () => {
    expect(() => loadShippingRules('/nonexistent/rules.json')).toThrow(
      /\/nonexistent\/rules.json.*cannot be read/,
    );
  });
});
