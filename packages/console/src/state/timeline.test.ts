import { describe, expect, it } from 'vitest';
import type { ChannelDetail, OrderDetail } from '../api/types.js';
import { appendTimeline, initialTimeline, MAX_TIMELINE, timelineChanges } from './timeline.js';

const at = (s: number) => `2025-01-01T10:00:${String(s).padStart(2, '0')}.000Z`;

function channel(over: Partial<ChannelDetail> = {}): ChannelDetail {
  return {
    state: 'published',
    messageId: 'm',
    attempts: 0,
    publishedAt: at(1),
    updatedAt: at(1),
    details: {},
    ...over,
  };
}

function detail(over: Partial<OrderDetail['channels']> = {}): OrderDetail {
  return {
    id: 'o1',
    reference: 'ORD-1',
    status: 'processing',
    placedAt: at(0),
    channels: {
      email: channel(),
      whatsapp: channel(),
      logistic: channel(),
      payment: channel(),
      fraud: channel(),
      ...over,
    },
  };
}

describe('the order timeline', () => {
  it('starts with the order placed, each channel published, and where each stands', () => {
    const t = initialTimeline(
      detail({
        email: channel({
          state: 'dead_lettered',
          attempts: 1,
          updatedAt: at(3),
          details: { deadLetter: { reason: '550 mailbox unavailable' } },
        }),
      }),
    );
    expect(t[0]).toMatchObject({ at: at(0), text: 'order ORD-1 placed' });
    expect(t.filter((e) => e.state === 'published')).toHaveLength(5);
    expect(t.at(-1)).toEqual({
      at: at(3),
      channel: 'email',
      state: 'dead_lettered',
      text: 'email dead-lettered after 1 attempt(s): 550 mailbox unavailable',
    });
  });

  it('adds an entry for each channel that moved, with its retry reason or delivery status', () => {
    const before = detail();
    const after = detail({
      payment: channel({
        state: 'retrying',
        attempts: 2,
        updatedAt: at(5),
        details: { lastError: { reason: 'gateway 503' } },
      }),
      whatsapp: channel({ state: 'succeeded', updatedAt: at(4), details: { deliveryStatus: 'delivered' } }),
    });
    expect(timelineChanges(before, after).map((e) => e.text)).toEqual([
      'whatsapp succeeded (WhatsApp delivered)',
      'payment retrying after 2 attempt(s): gateway 503',
    ]);
    expect(timelineChanges(after, after)).toEqual([]);
  });

  it('keeps the newest entries when a timeline grows long', () => {
    const many = Array.from({ length: MAX_TIMELINE + 10 }, (_, i) => ({
      at: at(i % 60),
      channel: null,
      state: null,
      text: `e${i}`,
    }));
    const t = appendTimeline([], many);
    expect(t).toHaveLength(MAX_TIMELINE);
    expect(t.at(-1)?.text).toBe(`e${MAX_TIMELINE + 9}`);
  });
});
