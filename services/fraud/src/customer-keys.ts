// The values velocity is counted on. Normalising them here, once, means the stored
// history and every later lookup agree on what "the same customer" is.

/** Lower-cases an email and, when asked, drops a `+tag` from its local part. */
export function normalizeEmail(email: string, ignorePlusTag: boolean): string {
  const lower = email.trim().toLowerCase();
  const at = lower.lastIndexOf('@');
  if (at <= 0) return lower;
  let local = lower.slice(0, at);
  if (ignorePlusTag) {
    const plus = local.indexOf('+');
    if (plus > 0) local = local.slice(0, plus);
  }
  return `${local}@${lower.slice(at + 1)}`;
}

export function emailDomain(email: string): string {
  const lower = email.trim().toLowerCase();
  return lower.slice(lower.lastIndexOf('@') + 1);
}

/** True when `domain` is `listed` or one of its subdomains. */
export function domainMatches(domain: string, listed: string): boolean {
  return domain === listed || domain.endsWith(`.${listed}`);
}

/** Lower-cases an IP and unwraps IPv4-mapped IPv6 (`::ffff:203.0.113.7`), so both spellings count together. */
export function normalizeIp(ip: string): string {
  const lower = ip.trim().toLowerCase();
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(lower);
  return mapped ? mapped[1]! : lower;
}
