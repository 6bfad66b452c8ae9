import twilio from 'twilio';
import { describe, expect, it } from 'vitest';
import { computeTwilioSignature } from './twilio-signature.js';

describe('X-Twilio-Signature', () => {
  const authToken = '12345';
  const url = 'https://mycompany.com/myapp.php?foo=1&bar=2';
  const params = {
    CallSid: 'CA1234567890ABCDE',
    Caller: '+12349013030',
    Digits: '1234',
    From: '+12349013030',
    To: '+18005551212',
  };

  it('is what the twilio SDK computes for the same URL and parameters', () => {
    expect(computeTwilioSignature(authToken, url, params)).toBe(
      twilio.getExpectedTwilioSignature(authToken, url, params),
    );
  });

  it('passes the SDK validateRequest, and fails it when a parameter or the URL changes', () => {
    const signature = computeTwilioSignature(authToken, url, params);
    expect(twilio.validateRequest(authToken, signature, url, params)).toBe(true);
    expect(twilio.validateRequest(authToken, signature, url, { ...params, Digits: '4321' })).toBe(false);
    expect(twilio.validateRequest(authToken, signature, `${url}&baz=3`, params)).toBe(false);
  });

  it('sorts parameters by name and handles non-ASCII values', () => {
    const unicode = { b: 'zwei', a: 'eins – ü', c: 'π' };
    const signature = computeTwilioSignature('token', 'http://127.0.0.1:1/cb', unicode);
    expect(twilio.validateRequest('token', signature, 'http://127.0.0.1:1/cb', unicode)).toBe(true);
  });
});
