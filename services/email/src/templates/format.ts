import type { EmailMessage, Locale } from '@notify/contracts';

export type ShippingAddress = EmailMessage['order']['shippingAddress'];

// Building an Intl formatter costs far more than using one, and every mail needs the
// same few: one per locale (and zone), kept for the life of the process. Locales and
// zones come from the catalogues, so these maps stay small.
const dateTimeFormats = new Map<string, Intl.DateTimeFormat>();
const regionNames = new Map<Locale, Intl.DisplayNames>();
const quantityFormats = new Map<Locale, Intl.NumberFormat>();

function cached<K, V>(map: Map<K, V>, key: K, create: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = create();
    map.set(key, value);
  }
  return value;
}

/** Date and time with the zone's abbreviation, so a reader elsewhere is not misled. */
export function formatDateTime(iso: string, locale: Locale, timeZone: string): string {
  const format = cached(
    dateTimeFormats,
    `${locale}|${timeZone}`,
    () =>
      new Intl.DateTimeFormat(locale, {
        year: 'numeric',
        month: 'long',
        day: 'numeric',
        hour: '2-digit',
        minute: '2-digit',
        timeZoneName: 'short',
        timeZone,
      }),
  );
  return format.format(new Date(iso));
}

/** Whole quantities as the reader writes numbers. */
export function quantityFormat(locale: Locale): Intl.NumberFormat {
  return cached(quantityFormats, locale, () => new Intl.NumberFormat(locale, { maximumFractionDigits: 0 }));
}

// Countries whose postal addresses put the city before the postcode, on one line
// (US style: "Springfield, IL 62704") or on separate lines (UK style).
const CITY_REGION_POSTCODE = new Set(['US', 'CA', 'AU']);
const CITY_THEN_POSTCODE_LINES = new Set(['GB', 'IE']);

/** The address as the lines of an envelope, country name in the reader's language. */
export function addressLines(address: ShippingAddress, locale: Locale): string[] {
  const lines = [address.name, address.line1];
  if (address.line2) lines.push(address.line2);
  if (CITY_REGION_POSTCODE.has(address.country)) {
    lines.push(`${address.city}${address.region ? `, ${address.region}` : ''} ${address.postalCode}`);
  } else if (CITY_THEN_POSTCODE_LINES.has(address.country)) {
    lines.push(address.city);
    if (address.region) lines.push(address.region);
    lines.push(address.postalCode);
  } else {
    lines.push(`${address.postalCode} ${address.city}`);
    if (address.region) lines.push(address.region);
  }
  lines.push(countryName(address.country, locale));
  return lines;
}

function countryName(code: string, locale: Locale): string {
  try {
    const names = cached(
      regionNames,
      locale,
      () => new Intl.DisplayNames(locale, { type: 'region', fallback: 'code' }),
    );
    return names.of(code) ?? code;
  } catch {
    return code;
  }
}
