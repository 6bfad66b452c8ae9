import { describe, expect, it } from 'vitest';
import type { DeadLetter } from '../api/types.js';
import { confirmText, replayBody, replaySummary, selectable, toggle } from './dead-letters.js';

const letter = (messageId: string | null): DeadLetter => ({
  messageId,
  orderId: 'o',
  type: 't',
  reason: 'permanent-failure',
  detail: null,
  deadLetteredAt: null,
  attempts: 1,
  replays: 0,
});

describe('dead letters', () => {
  it('replays the chosen letters or all of them', () => {
    expect(replayBody(['a', 'b'])).toEqual({ messageIds: ['a', 'b'] });
    expect(replayBody('all')).toEqual({ all: true });
  });

  it('chooses only letters with a message id, and forgets choices no longer listed', () => {
    const ids = selectable([letter('a'), letter(null), letter('b')]);
    expect(ids).toEqual(['a', 'b']);
    let s = toggle(new Set(), 'a', ids);
    s = toggle(s, 'b', ids);
    expect([...s]).toEqual(['a', 'b']);
    expect([...toggle(s, 'a', ids)]).toEqual(['b']);
    expect([...toggle(new Set(['gone']), 'a', ids)]).toEqual(['a']);
  });

  it('asks before replaying and says what happened', () => {
    expect(confirmText('email', ['a'], 3)).toMatch(/^Replay 1 chosen dead letter of email\?/);
    expect(confirmText('email', 'all', 3)).toMatch(/^Replay all 3 dead letters of email\?/);
    expect(
      replaySummary({ service: 'email', queue: 'email.dlq', replayed: [letter('a')], notFound: [] }),
    ).toBe('Replayed 1 letter of email.');
    expect(replaySummary({ service: 'email', queue: 'email.dlq', replayed: [], notFound: ['x'] })).toBe(
      'Replayed 0 letters of email; 1 not found (already replayed or gone): x.',
    );
  });
});
