import { describe, expect, it } from 'vitest';
import { acceptedStatus, nextStatus } from './whatsapp-status.js';

describe('nextStatus', () => {
  it('moves forward through queued, sent, delivered and read', () => {
    expect(nextStatus('queued', 'sent')).toBe('sent');
    expect(nextStatus('sent', 'delivered')).toBe('delivered');
    expect(nextStatus('delivered', 'read')).toBe('read');
    expect(nextStatus('queued', 'read')).toBe('read');
  });

  it('never moves backwards when a late status arrives', () => {
    expect(nextStatus('delivered', 'sent')).toBe('delivered');
    expect(nextStatus('read', 'delivered')).toBe('read');
    expect(nextStatus('sent', 'queued')).toBe('sent');
  });

  it('ends a queued or sent message on failed or undelivered, and nothing leaves them', () => {
    expect(nextStatus('queued', 'failed')).toBe('failed');
    expect(nextStatus('sent', 'undelivered')).toBe('undelivered');
    expect(nextStatus('failed', 'delivered')).toBe('failed');
    expect(nextStatus('undelivered', 'read')).toBe('undelivered');
    expect(nextStatus('failed', 'undelivered')).toBe('failed');
  });

  it('keeps a confirmed delivery when a stale failure report arrives after it', () => {
    expect(nextStatus('delivered', 'undelivered')).toBe('delivered');
    expect(nextStatus('read', 'failed')).toBe('read');
  });
});

describe('acceptedStatus', () => {
  it('maps Messaging Service acceptance states to queued', () => {
    expect(acceptedStatus('queued')).toBe('queued');
    expect(acceptedStatus('accepted')).toBe('queued');
    expect(acceptedStatus('scheduled')).toBe('queued');
    expect(acceptedStatus('sent')).toBe('sent');
  });
});
