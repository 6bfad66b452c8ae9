import { describe, expect, it } from 'vitest';
import {
  addBusinessDays,
  dispatchDate,
  estimateDelivery,
  isBusinessDay,
  nextBusinessDay,
} from './delivery-estimate.js';

// 2026-11-23 is a Monday.
const holidays = new Set(['2026-12-25', '2026-12-28']);

describe('business days', () => {
  it('treats Saturday, Sunday and listed holidays as non-business days', () => {
    expect(isBusinessDay('2026-11-23')).toBe(true);
    expect(isBusinessDay('2026-11-28')).toBe(false);
    expect(isBusinessDay('2026-11-29')).toBe(false);
    expect(isBusinessDay('2026-12-25', holidays)).toBe(false);
    expect(isBusinessDay('2026-12-25')).toBe(true);
  });

  it('skips a weekend and the holidays after it', () => {
    expect(nextBusinessDay('2026-11-27')).toBe('2026-11-30');
    // Thu 24 Dec -> Fri 25 (holiday), Sat, Sun, Mon 28 (holiday) -> Tue 29
    expect(nextBusinessDay('2026-12-24', holidays)).toBe('2026-12-29');
  });

  it('adds business days across a weekend and a month and year boundary', () => {
    expect(addBusinessDays('2026-11-23', 0)).toBe('2026-11-23');
    expect(addBusinessDays('2026-11-26', 2)).toBe('2026-11-30');
    expect(addBusinessDays('2026-12-30', 3)).toBe('2027-01-04');
    expect(addBusinessDays('2026-12-23', 2, holidays)).toBe('2026-12-29');
  });

  it('refuses a malformed date or a negative count', () => {
    expect(() => addBusinessDays('2026-02-30', 1)).toThrow(/calendar date/);
    expect(() => addBusinessDays('23/11/2026', 1)).toThrow(/YYYY-MM-DD/);
    expect(() => addBusinessDays('2026-11-23', -1)).toThrow(/>= 0/);
  });
});

describe('dispatchDate', () => {
  it('dispatches the same day before the cut-off and the next business day after it', () => {
    expect(dispatchDate(new Date('2026-11-23T14:59:59Z'), 15)).toBe('2026-11-23');
    expect(dispatchDate(new Date('2026-11-23T15:00:00Z'), 15)).toBe('2026-11-24');
    expect(dispatchDate(new Date('2026-11-27T16:00:00Z'), 15)).toBe('2026-11-30');
  });

  it('dispatches a weekend order on Monday whatever the hour', () => {
    expect(dispatchDate(new Date('2026-11-28T08:00:00Z'), 15)).toBe('2026-11-30');
  });

  it('has no cut-off at 24', () => {
    expect(dispatchDate(new Date('2026-11-23T23:59:00Z'), 24)).toBe('2026-11-23');
  });
});

describe('estimateDelivery', () => {
  it('adds the transit business days to the dispatch day', () => {
    expect(
      estimateDelivery({
        orderedAt: new Date('2026-11-23T09:00:00Z'),
        transitBusinessDays: 2,
        cutoffHourUtc: 15,
      }),
    ).toBe('2026-11-25');
    // Friday after cut-off: dispatched Monday, 5 business days later is the next Monday.
    expect(
      estimateDelivery({
        orderedAt: new Date('2026-11-27T18:00:00Z'),
        transitBusinessDays: 5,
        cutoffHourUtc: 15,
      }),
    ).toBe('2026-12-07');
  });

  it('does not deliver on the holidays it is given', () => {
    expect(
      estimateDelivery({
        orderedAt: new Date('2026-12-23T10:00:00Z'),
        transitBusinessDays: 2,
        cutoffHourUtc: 15,
        holidays,
      }),
    ).toBe('2026-12-29');
  });
});
