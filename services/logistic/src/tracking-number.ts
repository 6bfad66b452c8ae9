// Tracking numbers carry a check digit so that a mistyped number is caught by the
// carrier's systems (and ours) before anyone looks it up. Two formats:
// - UPU S10 (postal operators): 2 letters + 8-digit serial + mod-11 check digit + ISO
//   country of the issuing operator, e.g. RR473124829GB.
// - Courier style: a carrier prefix + N-digit serial + Luhn (mod-10) check digit.

export type TrackingFormat =
  | { readonly scheme: 's10'; readonly serviceIndicator: string; readonly originCountry: string }
  | { readonly scheme: 'luhn'; readonly prefix: string; readonly serialDigits: number };

const S10_WEIGHTS = [8, 6, 4, 2, 3, 5, 9, 7] as const;
const S10_PATTERN = /^([A-Z]{2})(\d{8})(\d)([A-Z]{2})$/;
const LUHN_PATTERN = /^([A-Z]{2,6})(\d{7,16})$/;

/** UPU S10 check digit of an 8-digit serial. */
export function s10CheckDigit(serial: string): number {
  if (!/^\d{8}$/.test(serial)) throw new Error('an S10 serial has exactly 8 digits');
  let sum = 0;
  for (let i = 0; i < 8; i++) sum += Number(serial[i]) * S10_WEIGHTS[i]!;
  const check = 11 - (sum % 11);
  if (check === 10) return 0;
  if (check === 11) return 5;
  return check;
}

/** Luhn check digit to append to a string of digits. */
export function luhnCheckDigit(digits: string): number {
  if (!/^\d+$/.test(digits)) throw new Error('Luhn works on digits only');
  let sum = 0;
  // Walking from the right, the digit next to the (future) check digit is doubled first.
  for (let i = digits.length - 1, double = true; i >= 0; i--, double = !double) {
    let d = Number(digits[i]);
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return (10 - (sum % 10)) % 10;
}

/**
 * Formats a tracking number from a serial. The serial space of a format is finite
 * (10^8 for S10), so the serial wraps; the shipments table keeps tracking numbers unique.
 */
export function formatTrackingNumber(format: TrackingFormat, serial: bigint): string {
  if (serial < 0n) throw new Error('a tracking serial is not negative');
  if (format.scheme === 's10') {
    const digits = (serial % 100_000_000n).toString().padStart(8, '0');
    return `${format.serviceIndicator}${digits}${s10CheckDigit(digits)}${format.originCountry}`;
  }
  const digits = (serial % 10n ** BigInt(format.serialDigits)).toString().padStart(format.serialDigits, '0');
  return `${format.prefix}${digits}${luhnCheckDigit(digits)}`;
}

/** True when `value` is a well-formed tracking number of either format with a correct check digit. */
export function isValidTrackingNumber(value: string): boolean {
  const s10 = S10_PATTERN.exec(value);
  if (s10) return s10CheckDigit(s10[2]!) === Number(s10[3]);
  const luhn = LUHN_PATTERN.exec(value);
  if (luhn) {
    const body = luhn[2]!;
    return luhnCheckDigit(body.slice(0, -1)) === Number(body.slice(-1));
  }
  return false;
}
