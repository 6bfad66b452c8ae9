import { describe, expect, it } from 'vitest';
import { isPlaceholderSecret } from './config.js';
import { DEV_UNSUBSCRIBE_SECRET, signUnsubscribeToken, verifyUnsubscribeToken } from './unsubscribe-token.js';

const secret = 'a-real-secret-of-at-least-32-characters!';
const claim = { client: 'shop-eu', customerKey: 'ada@example.com', channel: 'email' } as const;

describe('unsubscribe tokens', () => {
  it('carry their claim back when verified with the secret that signed them', () => {
    expect(verifyUnsubscribeToken(signUnsubscribeToken(claim, secret), secret)).toEqual(claim);
  });

  it('are refused when signed with another secret, altered, truncated or oversized', () => {
    const token = signUnsubscribeToken(claim, secret);
    expect(verifyUnsubscribeToken(token, `${secret}x`)).toBeNull();
    const [v, body, sig] = token.split('.') as [string, string, string];
    const forged = Buffer.from(JSON.stringify({ c: 'shop-eu', k: 'eve@example.com', ch: 'email' })).toString(
      'base64url',
    );
    expect(verifyUnsubscribeToken(`${v}.${forged}.${sig}`, secret)).toBeNull();
    expect(verifyUnsubscribeToken(`${v}.${body}`, secret)).toBeNull();
    expect(verifyUnsubscribeToken(`${v}.${body}.${sig.slice(0, -2)}`, secret)).toBeNull();
    expect(verifyUnsubscribeToken(`${token}.${'a'.repeat(2000)}`, secret)).toBeNull();
    expect(verifyUnsubscribeToken('', secret)).toBeNull();
  });

  it('use a development secret that production refuses', () => {
    expect(isPlaceholderSecret(DEV_UNSUBSCRIBE_SECRET)).toBe(true);
  });
});
