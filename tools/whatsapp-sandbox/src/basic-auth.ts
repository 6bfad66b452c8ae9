import { createHash, timingSafeEqual } from 'node:crypto';

export interface Credentials {
  username: string;
  password: string;
}

export function parseBasicAuth(header: string | undefined): Credentials | null {
  if (!header) return null;
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!match?.[1]) return null;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) return null;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Compares through fixed-length digests so neither length nor content leaks through timing. */
function sameSecret(given: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}

export function credentialsMatch(given: Credentials | null, expected: Credentials): boolean {
  if (!given) return false;
  // Both comparisons always run, so a right username with a wrong token takes as long as a wrong pair.
  const usernameOk = sameSecret(given.username, expected.username);
  const passwordOk = sameSecret(given.password, expected.password);
  return usernameOk && passwordOk;
}
