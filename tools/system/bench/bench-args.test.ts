import { describe, expect, it } from 'vitest';
import { wholeNumber } from './bench-args.js';

describe('wholeNumber', () => {
  it('takes a whole number within its bounds', () => {
    expect(wholeNumber('orders', '5000')).toBe(5000);
    expect(wholeNumber('commit-delay', '0', 0, 100_000)).toBe(0);
  });

  it('refuses fractions, words, empty values and numbers out of bounds, naming the option', () => {
    for (const bad of ['1.5', 'many', '', undefined, '0', '-3']) {
      expect(() => wholeNumber('orders', bad)).toThrow(/--orders must be a whole number from 1/);
    }
    expect(() => wholeNumber('commit-delay', '100001', 0, 100_000)).toThrow('--commit-delay');
  });
});
