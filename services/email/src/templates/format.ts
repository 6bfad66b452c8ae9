import type { EmailMessage, Locale } from '@notify/contracts';

export type ShippingAddress = EmailMessage['order']['shippingAddress'];

/** Date and time with the zone's abbreviation, so a reader elsewhere is not misled. */
export function formatDateTime(iso: string, locale: Locale, timeZone: string): string {
  return new Intl.DateTimeFormat(locale, {
    year: 'numeric',
    month: 'long',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    timeZoneName: 'short',
    timeZone,
  }).format(new Date(iso));
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
    return new Intl.DisplayNames(locale, { type: 'region', fallback: 'code' }).of(code) ?? code;
  } catch {
    return code;
  }
}
