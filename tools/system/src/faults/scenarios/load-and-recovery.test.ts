import { describe, expect, it } from 'vitest';
import { PROFILES } from '../fault-profiles.js';
import { sendBoundMs } from './load-and-recovery.js';

describe('the crash window of a provider send', () => {
  it("is as long as the sender's own bound on one send: the email lease, the Twilio request timeout", () => {
    expect(sendBoundMs(PROFILES.full, 'email')).toBe(120_000);
    expect(sendBoundMs(PROFILES.full, 'whatsapp')).toBe(15_000);
    expect(sendBoundMs(PROFILES.short, 'email')).toBe(Number(PROFILES.short.env.SMTP_SEND_LEASE_MS));
  });
});
