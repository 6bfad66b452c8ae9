import { CURRENCY_EXPONENTS, MAX_AMOUNT_MINOR } from '@notify/contracts';
import type { CurrencyCode } from '@notify/contracts';

export interface PricedLine {
  readonly sku: string;
  readonly name: string;
  readonly quantity: number;
  readonly unitPrice: number;
  readonly weightGrams: number;
  readonly lineTotal: number;
}

export interface Totals {
  readonly lines: PricedLine[];
  readonly subtotal: number;
  readonly shipping: number;
  readonly total: number;
  /** Units across all lines. */
  readonly itemCount: number;
  readonly weightGrams: number;
}

/** A computed amount does not fit MAX_AMOUNT_MINOR; names the field that overflowed. */
export class AmountOverflowError extends Error {
  constructor(readonly field: string) {
    super(`${field} exceeds the largest amount accepted (${MAX_AMOUNT_MINOR} minor units)`);
    this.name = 'AmountOverflowError';
  }
}

/**
 * Shipping rule (a placeholder for a real rate card, documented in the README):
 * free from 50.00 in major units of the order's currency, otherwise a flat 4.99,
 * both scaled by the currency's exponent (JPY: free from 50, else 5).
 */
export const SHIPPING_RULE = { freeFromMajor: 50, flatFeeHundredths: 499 } as const;

export function shippingFor(subtotal: bigint, currency: CurrencyCode): bigint {
  const exponent = CURRENCY_EXPONENTS[currency];
  const freeFrom = BigInt(SHIPPING_RULE.freeFromMajor) * 10n ** BigInt(exponent);
  if (subtotal >= freeFrom) return 0n;
  // 4.99 expressed in hundredths, rescaled to the currency's exponent, rounded half up.
  const fee =
    exponent >= 2
      ? BigInt(SHIPPING_RULE.flatFeeHundredths) * 10n ** BigInt(exponent - 2)
      : (BigInt(SHIPPING_RULE.flatFeeHundredths) * 10n ** BigInt(exponent) + 50n) / 100n;
  return fee;
}

/**
 * Totals are computed here from quantities and unit prices, never taken from the
 * client. BigInt keeps products exact beyond 2^53 so an overflow is detected instead
 * of silently rounded.
 */
export function priceOrder(
  currency: CurrencyCode,
  items: readonly {
    sku: string;
    name: string;
    quantity: number;
    unitPrice: number;
    weightGrams: number;
  }[],
): Totals {
  const max = BigInt(MAX_AMOUNT_MINOR);
  let subtotal = 0n;
  let itemCount = 0;
  let weightGrams = 0;
  const lines = items.map((item, i) => {
    const lineTotal = BigInt(item.quantity) * BigInt(item.unitPrice);
    if (lineTotal > max) throw new AmountOverflowError(`/items/${i}/unitPrice`);
    subtotal += lineTotal;
    itemCount += item.quantity;
    weightGrams += item.quantity * item.weightGrams;
    return {
      sku: item.sku,
      name: item.name,
      quantity: item.quantity,
      unitPrice: item.unitPrice,
      weightGrams: item.weightGrams,
      lineTotal: Number(lineTotal),
    };
  });
  if (subtotal > max) throw new AmountOverflowError('/items');
  const shipping = shippingFor(subtotal, currency);
  const total = subtotal + shipping;
  if (total > max) throw new AmountOverflowError('/items');
  return {
    lines,
    subtotal: Number(subtotal),
    shipping: Number(shipping),
    total: Number(total),
    itemCount,
    weightGrams,
  };
}
