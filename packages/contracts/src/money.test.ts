import { describe, expect, it } from 'vitest';
import { formatMoney, minorToDecimal } from './money.js';

describe('minorToDecimal', () => {
  it('places the decimal point by the currency exponent (0, 2 and 3 digits)', () => {
    expect(minorToDecimal(1500, 'JPY')).toBe('1500');
    expect(minorToDecimal(3998, 'GBP')).toBe('39.98');
    expect(minorToDecimal(5, 'GBP')).toBe('0.05');
    expect(minorToDecimal(1234, 'KWD')).toBe('1.234');
    expect(minorToDecimal(7, 'KWD')).toBe('0.007');
    expect(minorToDecimal(0, 'EUR')).toBe('0.00');
    expect(minorToDecimal(-250, 'EUR')).toBe('-2.50');
  });

  it('stays exact where a float division would not', () => {
    // Divided as a double, 2^53 - 1 pence come out as 90071992547409.9: a penny is lost.
    expect(minorToDecimal(Number.MAX_SAFE_INTEGER, 'KWD')).toBe('9007199254740.991');
    expect(minorToDecimal(Number.MAX_SAFE_INTEGER, 'GBP')).toBe('90071992547409.91');
  });

  it('refuses amounts that are not safe integers', () => {
    expect(() => minorToDecimal(12.5, 'GBP')).toThrow(RangeError);
    expect(() => minorToDecimal(2 ** 53, 'GBP')).toThrow(RangeError);
  });
});

describe('formatMoney', () => {
  it('formats for the locale with the currency exponent, not the locale data', () => {
    expect(formatMoney(3998, 'GBP', 'en-GB')).toBe('£39.98');
    expect(formatMoney(123456, 'EUR', 'de-DE')).toBe('1.234,56\u00a0€');
    expect(formatMoney(1500, 'JPY', 'en-US')).toBe('¥1,500');
    expect(formatMoney(1234, 'KWD', 'en-GB')).toBe('KWD\u00a01.234');
  });

  it('uses the ISO 4217 exponent: none for JPY, three for BHD and KWD', () => {
    expect(formatMoney(1234, 'JPY', 'en-US')).toBe('¥1,234');
    expect(formatMoney(1234, 'BHD', 'en-GB')).toBe('BHD\u00a01.234');
    expect(formatMoney(5, 'KWD', 'de-DE')).toBe('0,005\u00a0KWD');
    expect(formatMoney(7, 'EUR', 'de-DE')).toBe('0,07\u00a0€');
  });

  it('keeps every digit of a large amount', () => {
    expect(formatMoney(9_999_999_999_999, 'EUR', 'en-GB')).toBe('€99,999,999,999.99');
    expect(formatMoney(1_000_000_000_001, 'USD', 'en-US')).toBe('$10,000,000,000.01');
    expect(formatMoney(Number.MAX_SAFE_INTEGER, 'GBP', 'en-GB')).toBe('£90,071,992,547,409.91');
  });
});
