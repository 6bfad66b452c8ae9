import { CHANNELS } from '@notify/contracts';
import type { Channel } from '@notify/contracts';
import { describe, expect, it } from 'vitest';
import { deriveOrderStatus } from './order-status.js';
import type { ChannelState, ChannelStatusInput } from './order-status.js';

const all = (state: ChannelState): Record<Channel, ChannelStatusInput> =>
  Object.fromEntries(CHANNELS.map((c) => [c, { state }])) as Record<Channel, ChannelStatusInput>;

describe('deriveOrderStatus', () => {
  it('is accepted while any notification waits in the outbox, processing once all five are published', () => {
    expect(deriveOrderStatus(all('pending'))).toBe('accepted');
    expect(deriveOrderStatus({ ...all('published'), fraud: { state: 'pending' } })).toBe('accepted');
    expect(deriveOrderStatus(all('published'))).toBe('processing');
    expect(deriveOrderStatus({ ...all('succeeded'), email: { state: 'retrying' } })).toBe('processing');
  });

  it('is completed when all five succeeded and fraud approved', () => {
    const channels = {
      ...all('succeeded'),
      fraud: { state: 'succeeded' as const, details: { decision: 'approve' } },
    };
    expect(deriveOrderStatus(channels)).toBe('completed');
  });

  it('needs attention when any channel failed or was dead-lettered', () => {
    expect(deriveOrderStatus({ ...all('succeeded'), payment: { state: 'failed' } })).toBe('attention');
    expect(deriveOrderStatus({ ...all('published'), email: { state: 'dead_lettered' } })).toBe('attention');
  });

  it('is flagged when fraud says review or reject, before anything else', () => {
    for (const decision of ['review', 'reject']) {
      const fraud = { state: 'succeeded' as const, details: { decision } };
      expect(deriveOrderStatus({ ...all('succeeded'), fraud })).toBe('flagged');
      expect(deriveOrderStatus({ ...all('published'), email: { state: 'dead_lettered' }, fraud })).toBe(
        'flagged',
      );
    }
  });
});
