import { MAX_AMOUNT_MINOR } from '@notify/contracts';
import { describe, expect, it } from 'vitest';
import { AmountOverflowError, priceOrder, shippingFor } from './pricing.js';

const line = (quantity: number, unitPrice: number, weightGrams = 100) => ({
  sku: 'SKU-1',
  name: 'Thing',
  quantity,
  unitPrice,
  weightGrams,
});

describe('priceOrder', () => {
  it('computes line totals, subtotal, item count and weight from quantities and unit prices', () => {
    const t = priceOrder('EUR', [line(2, 1999, 450), line(3, 250, 30)]);
    expect(t.lines.map((l) => l.lineTotal)).toEqual([3998, 750]);
    expect(t).toMatchObject({ subtotal: 4748, shipping: 499, total: 5247, itemCount: 5, weightGrams: 990 });
  });

  it('ships free from 50.00 in the currency, scaled by its exponent', () => {
    expect(priceOrder('EUR', [line(1, 5000)]).shipping).toBe(0);
    expect(priceOrder('EUR', [line(1, 4999)]).shipping).toBe(499);
    // JPY has no minor unit: free from 50, otherwise 5 (4.99 rounded).
    expect(shippingFor(50n, 'JPY')).toBe(0n);
    expect(shippingFor(49n, 'JPY')).toBe(5n);
    // BHD has three decimals: 4.990.
    expect(shippingFor(49_999n, 'BHD')).toBe(4990n);
    expect(shippingFor(50_000n, 'BHD')).toBe(0n);
  });

  it('refuses a line total above MAX_AMOUNT_MINOR, naming the line', () => {
    const err = (() => {
      try {
        priceOrder('EUR', [line(1, 1), line(1000, MAX_AMOUNT_MINOR / 100 + 1)]);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(AmountOverflowError);
    expect((err as AmountOverflowError).field).toBe('/items/1/unitPrice');
  });

  it('refuses a subtotal above MAX_AMOUNT_MINOR even when every line fits', () => {
    expect(() => priceOrder('EUR', [line(1, MAX_AMOUNT_MINOR), line(1, 1)])).toThrow(AmountOverflowError);
  });

  it('accepts a total of exactly MAX_AMOUNT_MINOR', () => {
    expect(priceOrder('EUR', [line(1, MAX_AMOUNT_MINOR)]).total).toBe(MAX_AMOUNT_MINOR);
  });
});
