import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_POLICY } from '@notify/messaging';
import { PROFILES } from '../fault-profiles.js';
import { beyondRetryBudgetMs, retryBudgetMs, sendBoundMs } from './load-and-recovery.js';

describe('the crash window of a provider send', () => {
  it("is as long as the sender's own bound on one send: the email lease, the Twilio request timeout", () => {
    expect(sendBoundMs(PROFILES.full, 'email')).toBe(120_000);
    expect(sendBoundMs(PROFILES.full, 'whatsapp')).toBe(15_000);
    expect(sendBoundMs(PROFILES.short, 'email')).toBe(Number(PROFILES.short.env.SMTP_SEND_LEASE_MS));
  });
});

describe('the retry budget an outage row must outlast', () => {
  it("adds the delays between a service's attempts, from the profile's settings or the runner's default", () => {
    // Production: six attempts, 1 s + 5 s + 25 s + 2 min + 10 min between them.
    expect(retryBudgetMs(PROFILES.full, 'logistic')).toBe(751_000);
    // Short profile: 1, 2, 4, 8, 16 s; email and whatsapp run eight attempts, the last three 16 s apart.
    expect(retryBudgetMs(PROFILES.short, 'payment')).toBe(31_000);
    expect(retryBudgetMs(PROFILES.short, 'email')).toBe(63_000);
    expect(beyondRetryBudgetMs(PROFILES.short, ['whatsapp', 'email'])).toBe(
      63_000 + PROFILES.short.beyondBudgetMs,
    );
  });

  it("leaves a sender's redelivery after a crash mid-send an attempt past its send lease, every delay at the jitter's low end", () => {
    const { short } = PROFILES;
    const lowEnd = 1 - DEFAULT_RETRY_POLICY.jitter;
    expect(retryBudgetMs(short, 'email') * lowEnd).toBeGreaterThan(Number(short.env.SMTP_SEND_LEASE_MS));
    expect(retryBudgetMs(short, 'whatsapp') * lowEnd).toBeGreaterThan(
      Number(short.serviceEnv.whatsapp?.WHATSAPP_SEND_LEASE_MS),
    );
  });
});
