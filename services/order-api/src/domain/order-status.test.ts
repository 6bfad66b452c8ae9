import { describe, expect, it } from 'vitest';
import { deriveOrderStatus } from './order-status.js';

const all = (state: 'pending' | 'published') =>
  ({
    email: { state },
    whatsapp: { state },
    logistic: { state },
    payment: { state },
    fraud: { state },
  }) as const;

describe('deriveOrderStatus', () => {
  it('is accepted while any notification waits in the outbox, processing once all five are published', () => {
    expect(deriveOrderStatus(all('pending'))).toBe('accepted');
    expect(deriveOrderStatus({ ...all('published'), fraud: { state: 'pending' } })).toBe('accepted');
    expect(deriveOrderStatus(all('published'))).toBe('processing');
  });
});
