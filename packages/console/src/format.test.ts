import { describe, expect, it } from 'vitest';
import { detailRows, formatFigure, formatTime, humanizeKey, stateLabel } from './format.js';

describe('formatting', () => {
  it('names states and keys for people', () => {
    expect(stateLabel('dead_lettered')).toBe('dead-lettered');
    expect(humanizeKey('trackingNumber')).toBe('Tracking number');
    expect(humanizeKey('deliveryStatusAt')).toBe('Delivery status at');
    expect(humanizeKey('smtp_response')).toBe('Smtp response');
  });

  it('shows a figure a source could not give as a dash, rates with one decimal below ten', () => {
    expect(formatFigure({ value: null, source: 'management', note: 'not set' })).toBe('—');
    expect(formatFigure({ value: 12345, source: 'amqp', note: null })).toBe('12,345');
    expect(formatFigure({ value: 2.345, source: 'metrics', note: null }, 'rate')).toBe('2.3');
    expect(formatFigure({ value: 0, source: 'metrics', note: null }, 'rate')).toBe('0.0');
    expect(formatFigure({ value: 41.7, source: 'metrics', note: null }, 'rate')).toBe('42');
  });

  it('formats timestamps and says when there is none', () => {
    expect(formatTime(null)).toBe('—');
    expect(formatTime('not a time')).toBe('not a time');
    expect(formatTime('2025-03-01T12:34:56.000Z', 'en-GB')).toMatch(/2025/);
  });

  it('lists what a channel reported, the fraud rules that fired in words', () => {
    const rows = detailRows({
      score: 35,
      decision: 'review',
      rules: [
        { id: 'high-value', points: 25, detail: 'total above 500.00' },
        { id: 'trusted-customer', points: -5, detail: 'seen before' },
      ],
      deadLetter: { reason: '550 mailbox unavailable', attempts: 1 },
    });
    expect(rows).toEqual([
      { label: 'Dead letter', value: '{"reason":"550 mailbox unavailable","attempts":1}' },
      { label: 'Decision', value: 'review' },
      { label: 'Rules', value: 'high-value (+25): total above 500.00; trusted-customer (-5): seen before' },
      { label: 'Score', value: '35' },
    ]);
    expect(detailRows({ rules: [] })).toEqual([{ label: 'Rules', value: 'none fired' }]);
  });
});
