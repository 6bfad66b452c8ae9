import { CURRENCY_EXPONENTS } from './iso.js';
import type { CurrencyCode, Locale } from './iso.js';

/**
 * An amount in integer minor units as a plain decimal string in major units, with the
 * currency's ISO 4217 exponent: `123456` GBP -> `1234.56`, `1500` JPY -> `1500`,
 * `1234` KWD -> `1.234`. String arithmetic only, so no amount ever meets a float.
 */
export function minorToDecimal(minor: number, currency: CurrencyCode): string {
  if (!Number.isSafeInteger(minor)) {
    throw new RangeError(`an amount in minor units must be a safe integer, got ${minor}`);
  }
  const exponent: number = CURRENCY_EXPONENTS[currency];
  const sign = minor < 0 ? '-' : '';
  const digits = String(Math.abs(minor)).padStart(exponent + 1, '0');
  if (exponent === 0) return `${sign}${digits}`;
  return `${sign}${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
}

const formats = new Map<string, Intl.NumberFormat>();

/**
 * An amount in minor units as a reader of `locale` writes it (`£39.98`, `1.234,56 €`).
 * Every channel that shows an amount to a customer formats it here, so an order's total
 * reads the same in the email and the WhatsApp message. The number of decimals is the
 * currency's ISO 4217 exponent, not the locale data's idea of it, and Intl is handed the
 * exact decimal string rather than a float.
 */
export function formatMoney(minor: number, currency: CurrencyCode, locale: Locale): string {
  const exponent: number = CURRENCY_EXPONENTS[currency];
  const key = `${locale}|${currency}`;
  let format = formats.get(key);
  if (!format) {
    format = new Intl.NumberFormat(locale, {
      style: 'currency',
      currency,
      minimumFractionDigits: exponent,
      maximumFractionDigits: exponent,
    });
    formats.set(key, format);
  }
  return format.format(minorToDecimal(minor, currency) as Intl.StringNumericLiteral);
}
