import { CURRENCY_EXPONENTS, minorToDecimal } from '@notify/contracts';
import type { CurrencyCode } from '@notify/contracts';
import type { FraudRules } from './fraud-rules.js';

export interface Threshold {
  /** The threshold in minor units of the order's currency. */
  readonly minor: number;
  /** False when the rules have no rate for the currency and the amount was taken 1:1. */
  readonly converted: boolean;
}

/**
 * Turns an amount of the rules' reference currency (major units) into minor units of
 * `currency`. Comparing integers in the order's own currency keeps boundaries exact.
 */
export function thresholdIn(
  currency: CurrencyCode,
  amountRef: number,
  money: FraudRules['money'],
): Threshold {
  const exponent = CURRENCY_EXPONENTS[currency];
  const rate = currency === money.referenceCurrency ? 1 : money.exchangeRates[currency];
  return {
    minor: Math.round(amountRef * (rate ?? 1) * 10 ** exponent),
    converted: rate !== undefined,
  };
}

/** `123456` GBP -> `1234.56 GBP`, exactly (see minorToDecimal in @notify/contracts). */
export function formatMinor(minor: number, currency: CurrencyCode): string {
  return `${minorToDecimal(minor, currency)} ${currency}`;
}
