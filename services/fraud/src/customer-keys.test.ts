import { describe, expect, it } from 'vitest';
import { domainMatches, emailDomain, normalizeEmail, normalizeIp } from './customer-keys.js';

describe('customer keys', () => {
  it('lower-cases emails and drops a plus tag only when asked', () => {
    expect(normalizeEmail(' Ada.Lovelace+shop@Example.COM ', true)).toBe('ada.lovelace@example.com');
    expect(normalizeEmail('Ada+shop@example.com', false)).toBe('ada+shop@example.com');
  });
  it('keeps a local part that starts with a plus', () => {
    expect(normalizeEmail('+x@example.com', true)).toBe('+x@example.com');
  });
  it('takes the domain after the last @', () => {
    expect(emailDomain('"a@b"@Mail.Example.com')).toBe('mail.example.com');
  });
  it('matches a domain and its subdomains only', () => {
    expect(domainMatches('yopmail.com', 'yopmail.com')).toBe(true);
    expect(domainMatches('eu.yopmail.com', 'yopmail.com')).toBe(true);
    expect(domainMatches('notyopmail.com', 'yopmail.com')).toBe(false);
  });
  it('counts an IPv4-mapped IPv6 address as the IPv4 address', () => {
    expect(normalizeIp('::FFFF:203.0.113.7')).toBe('203.0.113.7');
    expect(normalizeIp('2001:DB8::1')).toBe('2001:db8::1');
  });
});
