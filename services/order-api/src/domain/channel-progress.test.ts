import { describe, expect, it } from 'vitest';
import { applyChannelEvent, replayedChannel } from './channel-progress.js';
import type { ChannelEvent, ChannelSnapshot } from './channel-progress.js';

const published: ChannelSnapshot = { state: 'published', attempts: 0, details: {} };
const at = (s: number) => new Date(Date.UTC(2026, 10, 23, 12, 0, s)).toISOString();

const retrying = (attempt: number): ChannelEvent => ({
  kind: 'retrying',
  occurredAt: at(attempt),
  attempt,
  delayMs: 1000 * attempt,
  reason: `timeout ${attempt}`,
});
const sent: ChannelEvent = {
  kind: 'succeeded',
  occurredAt: at(10),
  details: { smtpMessageId: '<a@b>', recipient: 'a@example.com' },
};
const emailFailed: ChannelEvent = {
  kind: 'failed',
  occurredAt: at(11),
  details: { failure: { reason: 'mailbox unknown', at: at(11) } },
};
const deadLettered: ChannelEvent = {
  kind: 'dead_lettered',
  occurredAt: at(12),
  attempts: 1,
  reason: 'permanent-failure: 550',
};
const wa = (
  status: 'queued' | 'sent' | 'delivered' | 'read' | 'failed' | 'undelivered',
  s: number,
): ChannelEvent => ({
  kind: 'delivery',
  occurredAt: at(s),
  status,
  details: { messageSid: `SM${'a'.repeat(32)}`, ...(status === 'failed' ? { errorCode: 63016 } : {}) },
});

/** Applies events in order, skipping the ones that change nothing. */
function fold(events: ChannelEvent[], from: ChannelSnapshot = published): ChannelSnapshot {
  return events.reduce((cur, ev) => applyChannelEvent(cur, ev) ?? cur, from);
}

describe('applyChannelEvent', () => {
  it('moves published -> retrying -> succeeded and records attempts and the last error', () => {
    const r1 = fold([retrying(1)]);
    expect(r1).toMatchObject({
      state: 'retrying',
      attempts: 1,
      details: { lastError: { attempt: 1, reason: 'timeout 1' } },
    });
    const done = fold([retrying(1), retrying(2), sent]);
    expect(done.state).toBe('succeeded');
    expect(done.attempts).toBe(2);
    expect(done.details).toMatchObject({ smtpMessageId: '<a@b>', lastError: { attempt: 2 } });
  });

  it('a duplicate changes nothing', () => {
    for (const ev of [retrying(1), sent, emailFailed, deadLettered, wa('delivered', 3)]) {
      const once = fold([ev]);
      expect(applyChannelEvent(once, ev)).toBeNull();
    }
  });

  it('a retry that arrives after success does not move the state back', () => {
    const done = fold([sent]);
    const late = applyChannelEvent(done, retrying(1));
    expect(late?.state ?? done.state).toBe('succeeded');
    expect(fold([sent, retrying(1)]).details['smtpMessageId']).toBe('<a@b>');
  });

  it('an older retry after a newer one keeps the newer error', () => {
    expect(fold([retrying(3), retrying(1)]).details['lastError']).toMatchObject({ attempt: 3 });
  });

  it('failed and dead-lettered end in dead_lettered whichever comes first, with both details', () => {
    const a = fold([emailFailed, deadLettered]);
    const b = fold([deadLettered, emailFailed]);
    expect(a.state).toBe('dead_lettered');
    expect(b).toEqual(a);
    expect(a.details).toMatchObject({ failure: { reason: 'mailbox unknown' }, deadLetter: { attempts: 1 } });
  });

  it('success outranks a dead letter (the effect happened), never the other way round', () => {
    expect(fold([deadLettered, sent]).state).toBe('succeeded');
    expect(fold([sent, deadLettered]).state).toBe('succeeded');
    expect(fold([sent, emailFailed]).state).toBe('succeeded');
  });

  it('follows the furthest WhatsApp delivery status, whatever order the callbacks come in', () => {
    const inOrder = fold([wa('queued', 1), wa('sent', 2), wa('delivered', 3), wa('read', 4)]);
    const shuffled = fold([wa('read', 4), wa('delivered', 3), wa('queued', 1), wa('sent', 2)]);
    expect(inOrder.state).toBe('succeeded');
    expect(inOrder.details).toMatchObject({ deliveryStatus: 'read', deliveryStatusAt: at(4) });
    expect(shuffled).toEqual(inOrder);
    // delivered before sent
    const early = fold([wa('delivered', 3), wa('sent', 2)]);
    expect(early.details['deliveryStatus']).toBe('delivered');
  });

  it('a WhatsApp message Twilio could not deliver turns the channel failed, with the error code', () => {
    const undelivered = fold([wa('sent', 1), wa('failed', 2)]);
    expect(undelivered.state).toBe('failed');
    expect(undelivered.details).toMatchObject({ deliveryStatus: 'failed', errorCode: 63016 });
    // a late `sent` (the send's own event) does not undo it
    expect(fold([wa('sent', 1)], undelivered)).toEqual(undelivered);
  });

  it('the send event fills in the recipient even when a callback came first', () => {
    const sendEvent: ChannelEvent = {
      kind: 'delivery',
      occurredAt: at(1),
      status: 'queued',
      details: { to: '+15551234567', messageSid: `SM${'a'.repeat(32)}` },
    };
    const s = fold([wa('delivered', 3), sendEvent]);
    expect(s.details).toMatchObject({ to: '+15551234567', deliveryStatus: 'delivered' });
  });
});

describe('replayedChannel', () => {
  it('starts a dead-lettered channel over from published, counting replays and keeping the last dead letter', () => {
    const dead = fold([emailFailed, deadLettered]);
    const replayed = replayedChannel(dead, at(30));
    expect(replayed.state).toBe('published');
    expect(replayed.details).toMatchObject({
      replays: 1,
      lastReplayAt: at(30),
      previousDeadLetter: { attempts: 1 },
    });
    expect(replayed.details['deadLetter']).toBeUndefined();
    expect(fold([sent], replayed).state).toBe('succeeded');
    expect(replayedChannel(replayed, at(40)).details['replays']).toBe(2);
  });
});
