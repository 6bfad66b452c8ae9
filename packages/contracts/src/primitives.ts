import Type from 'typebox';
import { COUNTRY_CODES, CURRENCY_CODES, LOCALES } from './iso.js';
import type { CurrencyCode, Locale } from './iso.js';

// Upper bound for any single amount in minor units. 10^13 minor units keeps every sum of
// bounded items far below Number.MAX_SAFE_INTEGER, so totals never lose precision.
export const MAX_AMOUNT_MINOR = 10_000_000_000_000;

export const Uuid = Type.String({ format: 'uuid', maxLength: 36, description: 'UUID' });
export const Email = Type.String({
  format: 'email',
  minLength: 3,
  maxLength: 254,
  description: 'Email address',
});
export const E164 = Type.String({
  pattern: '^\\+[1-9][0-9]{6,14}$',
  maxLength: 16,
  description: 'Phone number in E.164 form, for example +4915112345678',
});
export const Currency = Type.Unsafe<CurrencyCode>({
  type: 'string',
  enum: CURRENCY_CODES,
  description: 'ISO 4217 currency code',
});
export const Country = Type.Unsafe<string>({
  type: 'string',
  enum: COUNTRY_CODES,
  description: 'ISO 3166-1 alpha-2 country code',
});
export const LocaleTag = Type.Unsafe<Locale>({
  type: 'string',
  enum: [...LOCALES],
  description: 'Locale (BCP 47)',
});
export const MinorUnits = Type.Integer({
  minimum: 0,
  maximum: MAX_AMOUNT_MINOR,
  description: 'Amount in integer minor units of the currency (cents for EUR)',
});
export const Timestamp = Type.String({ format: 'date-time', maxLength: 40, description: 'UTC ISO 8601' });
export const Text = (maxLength: number, description?: string) =>
  Type.String({ minLength: 1, maxLength, ...(description ? { description } : {}) });
export const Sku = Type.String({
  pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$',
  maxLength: 64,
  description: 'Stock keeping unit',
});
export const Quantity = Type.Integer({ minimum: 1, maximum: 1000 });
export const WeightGrams = Type.Integer({
  minimum: 0,
  maximum: 1_000_000,
  description: 'Weight of one unit in grams',
});
export const PaymentToken = Type.String({
  pattern: '^[A-Za-z0-9_-]{4,128}$',
  maxLength: 128,
  description: 'Opaque payment method token from the payment provider; never card data',
});
export const IpAddress = Type.Union([
  Type.String({ format: 'ipv4' }),
  Type.String({ format: 'ipv6', maxLength: 45 }),
]);

export const Address = Type.Object(
  {
    name: Text(200),
    line1: Text(200),
    line2: Type.Optional(Type.String({ maxLength: 200 })),
    city: Text(100),
    postalCode: Type.String({ pattern: '^[A-Za-z0-9 -]{2,12}$', maxLength: 12 }),
    region: Type.Optional(Type.String({ maxLength: 100 })),
    country: Country,
  },
  { additionalProperties: false },
);

/**
 * A client's own stable id for its customer: what customer preferences are kept under
 * (else the email address or phone number). Never contains `@` or `+`, so it cannot be
 * mistaken for either.
 */
export const CustomerReference = Type.String({
  pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$',
  maxLength: 64,
  description: "The client's stable reference for its customer (letters, digits, '.', '_', ':', '-')",
});

/** The id of an API client (API_KEYS name, or `key-<hash>` for an unnamed key). */
export const ClientId = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$', maxLength: 64 });

/**
 * Whose preferences decide whether a notification goes out: the client that placed the
 * order and its key for the customer (the customer reference, else the address the
 * channel sends to).
 */
export const Subscriber = Type.Object(
  {
    client: ClientId,
    customerKey: Type.String({ minLength: 1, maxLength: 254 }),
  },
  { additionalProperties: false },
);

export const Customer = Type.Object(
  {
    reference: Type.Optional(CustomerReference),
    name: Text(200),
    email: Email,
    phone: E164,
    locale: LocaleTag,
  },
  { additionalProperties: false },
);
