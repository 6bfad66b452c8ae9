import { createHmac, timingSafeEqual } from 'node:crypto';
import { makeValidator } from 'envalid';

// The signed token of an email's one-click unsubscribe link (RFC 8058): the email service
// signs it into every mail, the order API verifies it when the link is used. An HMAC with
// a secret both share, so nobody can unsubscribe someone else by guessing a URL, and the
// token needs no storage. It carries whose preference it changes; it does not expire,
// since an unsubscribe link must keep working as long as the mail is kept.

/** What an unsubscribe link opts out of: one subscriber's email order notifications. */
export interface UnsubscribeClaim {
  readonly client: string;
  readonly customerKey: string;
  readonly channel: 'email';
}

/** Longest token accepted; a real one is well under half of it. */
export const MAX_UNSUBSCRIBE_TOKEN_LENGTH = 1024;
const VERSION = 'u1';

/**
 * The development secret: it marks itself as one (`dev-only-`), so refusePlaceholderSecrets
 * refuses it with NODE_ENV=production.
 */
export const DEV_UNSUBSCRIBE_SECRET = 'dev-only-unsubscribe-secret-0123456789abcdef';

/** UNSUBSCRIBE_SECRET: at least 32 characters (an HMAC key as strong as its digest is long). */
export const unsubscribeSecret = makeValidator<string>((input: string) => {
  if (input.length < 32) throw new Error('must be at least 32 characters');
  return input;
});

function mac(body: string, secret: string): Buffer {
  return createHmac('sha256', secret).update(`${VERSION}.${body}`).digest();
}

export function signUnsubscribeToken(claim: UnsubscribeClaim, secret: string): string {
  const body = Buffer.from(
    JSON.stringify({ c: claim.client, k: claim.customerKey, ch: claim.channel }),
    'utf8',
  ).toString('base64url');
  return `${VERSION}.${body}.${mac(body, secret).toString('base64url')}`;
}

/** The claim a token signed with `secret` carries, or null for anything else. */
export function verifyUnsubscribeToken(token: string, secret: string): UnsubscribeClaim | null {
  if (token.length > MAX_UNSUBSCRIBE_TOKEN_LENGTH) return null;
  const [version, body, signature, ...rest] = token.split('.');
  if (version !== VERSION || !body || !signature || rest.length > 0) return null;
  const given = Buffer.from(signature, 'base64url');
  const expected = mac(body, secret);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  try {
    const parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Record<string, unknown>;
    const { c, k, ch } = parsed;
    if (typeof c !== 'string' || typeof k !== 'string' || ch !== 'email') return null;
    return { client: c, customerKey: k, channel: ch };
  } catch {
    return null;
  }
}
