import { describe, expect, it } from 'vitest';
import {
  formatTrackingNumber,
  isValidTrackingNumber,
  luhnCheckDigit,
  s10CheckDigit,
} from './tracking-number.js';

describe('S10 check digit', () => {
  it('matches the worked example of the UPU standard (RR473124829GB)', () => {
    expect(s10CheckDigit('47312482')).toBe(9);
  });

  it('maps a result of 11 to 5 and of 10 to 0', () => {
    // weighted sums: 0 -> 11 - 0 = 11 -> 5; 7 -> 4; 8 -> 3; 12 (= 1 mod 11) -> 10 -> 0
    expect(s10CheckDigit('00000000')).toBe(5);
    expect(s10CheckDigit('00000001')).toBe(4);
    expect(s10CheckDigit('10000000')).toBe(3);
    expect(s10CheckDigit('02000000')).toBe(0);
  });

  it('refuses a serial that is not 8 digits', () => {
    expect(() => s10CheckDigit('1234567')).toThrow(/8 digits/);
    expect(() => s10CheckDigit('1234567A')).toThrow(/8 digits/);
  });
});

describe('Luhn check digit', () => {
  it('matches the textbook example 7992739871 -> 3', () => {
    expect(luhnCheckDigit('7992739871')).toBe(3);
  });

  it('gives 0 when the sum is already a multiple of 10', () => {
    expect(luhnCheckDigit('0000000')).toBe(0);
    expect(luhnCheckDigit('5')).toBe(9);
  });
});

describe('formatTrackingNumber', () => {
  it('builds an S10 number with service indicator, padded serial, check digit and country', () => {
    expect(
      formatTrackingNumber({ scheme: 's10', serviceIndicator: 'RR', originCountry: 'GB' }, 47312482n),
    ).toBe('RR473124829GB');
    expect(formatTrackingNumber({ scheme: 's10', serviceIndicator: 'CP', originCountry: 'GB' }, 7n)).toBe(
      `CP00000007${s10CheckDigit('00000007')}GB`,
    );
  });

  it('wraps an S10 serial beyond 8 digits instead of producing an invalid number', () => {
    const n = formatTrackingNumber(
      { scheme: 's10', serviceIndicator: 'RR', originCountry: 'GB' },
      123456789n,
    );
    expect(n).toBe(`RR23456789${s10CheckDigit('23456789')}GB`);
    expect(isValidTrackingNumber(n)).toBe(true);
  });

  it('builds a courier number with prefix, padded serial and Luhn digit', () => {
    expect(formatTrackingNumber({ scheme: 'luhn', prefix: 'PCX', serialDigits: 10 }, 799273987n)).toBe(
      `PCX0799273987${luhnCheckDigit('0799273987')}`,
    );
  });

  it('produces numbers the validator accepts, for many serials of both formats', () => {
    for (let s = 0n; s < 2000n; s += 7n) {
      expect(
        isValidTrackingNumber(
          formatTrackingNumber({ scheme: 's10', serviceIndicator: 'EE', originCountry: 'DE' }, s * 104729n),
        ),
      ).toBe(true);
      expect(
        isValidTrackingNumber(formatTrackingNumber({ scheme: 'luhn', prefix: 'EXP', serialDigits: 12 }, s)),
      ).toBe(true);
    }
  });

  it('refuses a negative serial', () => {
    expect(() => formatTrackingNumber({ scheme: 'luhn', prefix: 'EXP', serialDigits: 8 }, -1n)).toThrow();
  });
});

describe('isValidTrackingNumber', () => {
  it('accepts the UPU example and rejects it with any other check digit', () => {
    expect(isValidTrackingNumber('RR473124829GB')).toBe(true);
    for (const d of [0, 1, 2, 3, 4, 5, 6, 7, 8]) {
      expect(isValidTrackingNumber(`RR47312482${d}GB`)).toBe(false);
    }
  });

  it('catches a single mistyped digit and a swap of adjacent digits in a courier number', () => {
    const good = formatTrackingNumber({ scheme: 'luhn', prefix: 'PCX', serialDigits: 10 }, 1234567890n);
    expect(isValidTrackingNumber(good)).toBe(true);
    const typo = good.slice(0, 5) + ((Number(good[5]) + 1) % 10) + good.slice(6);
    expect(isValidTrackingNumber(typo)).toBe(false);
    const swapped = good.slice(0, 4) + good[5] + good[4] + good.slice(6);
    expect(swapped).not.toBe(good);
    expect(isValidTrackingNumber(swapped)).toBe(false);
  });

  it('rejects malformed input', () => {
    for (const bad of [
      '',
      'RR47312482GB',
      'rr473124829gb',
      'RR473124829G',
      '12345678',
      'PCX12',
      'PCX1234567a',
    ]) {
      expect(isValidTrackingNumber(bad), bad).toBe(false);
    }
  });
});
