import { exampleMessages } from '@notify/contracts';
import { testDeliveryMeta } from '@notify/service-kit/testing';
import { describe, expect, it } from 'vitest';
import { confirmationFate } from './fate.js';
import { composeOrderConfirmation } from './order-confirmation-mail.js';
import { sendOrderConfirmation, sendOrderConfirmations } from './send-order-confirmation.js';
import type { ClaimResult, SendOrderConfirmationDeps, SentConfirmation } from './send-order-confirmation.js';
import { MailDeliveryError } from './smtp-failure.js';

const message = exampleMessages.email;
const at = new Date('2026-11-23T09:00:05.000Z');

/** Ports that record what the use case did; the claim answer and the send outcome are scripted. */
function harness(claim: ClaimResult, send: () => Promise<{ smtpResponse: string }>, optedOut = false) {
  const calls: string[] = [];
  const published: unknown[] = [];
  const deps: SendOrderConfirmationDeps = {
    compose: (m) =>
      composeOrderConfirmation(m, {
        from: { name: 'Shop', address: 'orders@example.com' },
        replyTo: undefined,
        messageIdDomain: 'example.com',
        defaultLocale: 'en-GB',
        unsubscribe: { url: 'https://api.example.com/unsubscribe', secret: 'x'.repeat(32) },
      }),
    preferences: {
      optedOut: async (subscriber) => {
        calls.push(`preferences ${subscriber.client}/${subscriber.customerKey}`);
        return optedOut;
      },
    },
    repository: {
      claim: async (input) => {
        calls.push(`claim ${input.orderId} lease=${input.leaseMs}`);
        return claim;
      },
      claimAll: async (inputs) => {
        calls.push(`claimAll ${inputs.map((i) => i.orderId).join(',')}`);
        return inputs.map(() => claim);
      },
      markSent: async (orderId, r) => {
        calls.push(`markSent ${r.smtpResponse}`);
        return {
          orderId,
          recipient: message.recipient.email,
          locale: 'en-GB',
          smtpMessageId: '<m@example.com>',
          sentAt: r.sentAt,
        };
      },
      markFailed: async (_id, token, f) => {
        calls.push(`markFailed ${token} ${f.reason} | ${f.smtpResponse ?? '-'}`);
      },
      release: async (_id, token, f) => {
        calls.push(`release ${token} ${f.reason}`);
      },
    },
    sender: {
      send: async () => {
        calls.push('send');
        return send();
      },
    },
    events: {
      sent: async (record) => {
        published.push({ sent: record });
      },
      failed: async (failure) => {
        published.push({ failed: failure });
      },
      skipped: async (skip) => {
        published.push({ skipped: skip });
      },
    },
    leaseMs: 60_000,
    now: () => at,
  };
  return { deps, calls, published };
}

const delivery = (attempt = 1, maxAttempts = 6) =>
  testDeliveryMeta({ messageId: `${message.orderId}:email`, attempt, maxAttempts });
const claimed: ClaimResult = { kind: 'claimed', token: 't1', previous: null };
const ok = async () => ({ smtpResponse: '250 2.0.0 OK' });

/** A confirmation an earlier delivery sent. */
const sentBefore: SentConfirmation = {
  orderId: message.orderId,
  recipient: 'ada@example.com',
  locale: 'en-GB',
  smtpMessageId: '<first@example.com>',
  sentAt: new Date('2026-11-23T09:00:01.000Z'),
};

const subscribed = { ...message, subscriber: { client: 'shop-eu', customerKey: 'ada@example.com' } };

describe('sendOrderConfirmation', () => {
  it('sends nothing to a customer who opted out, gives the claim back and publishes email.skipped', async () => {
    const h = harness(claimed, ok, true);
    const outcome = await sendOrderConfirmation(subscribed, delivery(), h.deps);
    expect(outcome).toEqual({ kind: 'skipped', reason: 'the customer opted out of order emails' });
    expect(confirmationFate(outcome)).toEqual({ kind: 'ack' });
    expect(h.calls).toEqual([
      `claim ${message.orderId} lease=60000`,
      'preferences shop-eu/ada@example.com',
      'release t1 the customer opted out of order emails',
    ]);
    expect(h.published).toEqual([
      {
        skipped: {
          orderId: message.orderId,
          reason: 'the customer opted out of order emails',
          occurredAt: at,
        },
      },
    ]);
  });

  it('announces a mail sent before the opt-out as sent, without asking the preferences', async () => {
    const record = sentBefore;
    const h = harness({ kind: 'sent', record }, ok, true);
    expect((await sendOrderConfirmation(subscribed, delivery(2), h.deps)).kind).toBe('already-sent');
    expect(h.calls.some((c) => c.startsWith('preferences'))).toBe(false);
  });

  it('claims, sends, records and publishes email.sent, in that order', async () => {
    const h = harness(claimed, ok);
    const outcome = await sendOrderConfirmation(message, delivery(), h.deps);
    expect(outcome.kind).toBe('sent');
    expect(confirmationFate(outcome)).toEqual({ kind: 'ack' });
    expect(h.calls).toEqual([`claim ${message.orderId} lease=60000`, 'send', 'markSent 250 2.0.0 OK']);
    expect(h.published).toEqual([
      { sent: expect.objectContaining({ orderId: message.orderId, sentAt: at }) as SentConfirmation },
    ]);
  });

  it('re-publishes the stored email.sent and sends nothing when the order was sent before', async () => {
    const record = sentBefore;
    const h = harness({ kind: 'sent', record }, ok);
    const outcome = await sendOrderConfirmation(message, delivery(2), h.deps);
    expect(outcome).toEqual({ kind: 'already-sent', record });
    expect(confirmationFate(outcome)).toEqual({ kind: 'ack' });
    expect(h.calls).not.toContain('send');
    expect(h.published).toEqual([{ sent: record }]);
  });

  it('sends nothing and asks for a retry while another delivery holds the claim', async () => {
    const h = harness({ kind: 'busy', leaseUntil: new Date('2026-11-23T09:01:00.000Z') }, ok);
    const outcome = await sendOrderConfirmation(message, delivery(), h.deps);
    expect(confirmationFate(outcome)).toEqual({
      kind: 'retry',
      reason: `another delivery of order ${message.orderId} is sending its confirmation (claim held until 2026-11-23T09:01:00.000Z)`,
    });
    expect(h.calls).not.toContain('send');
    expect(h.published).toEqual([]);
  });

  it('releases the claim and retries after a transient failure, publishing nothing', async () => {
    const h = harness(claimed, async () => {
      throw new MailDeliveryError('SMTP server deferred the message at DATA: 451 4.3.0 try again later', {
        retryable: true,
        responseCode: 451,
        smtpResponse: '451 4.3.0 try again later',
      });
    });
    const outcome = await sendOrderConfirmation(message, delivery(2), h.deps);
    expect(outcome).toEqual({
      kind: 'deferred',
      reason: 'SMTP server deferred the message at DATA: 451 4.3.0 try again later',
      final: false,
    });
    expect(confirmationFate(outcome)).toMatchObject({ kind: 'retry' });
    expect(h.calls.at(-1)).toBe(
      'release t1 SMTP server deferred the message at DATA: 451 4.3.0 try again later',
    );
    expect(h.published).toEqual([]);
  });

  it('records the failure, publishes email.failed and dead-letters with the reply on a 5xx', async () => {
    const h = harness(claimed, async () => {
      throw new MailDeliveryError('SMTP server rejected the message at RCPT TO with 550', {
        retryable: false,
        responseCode: 550,
        smtpResponse: '550 5.1.1 mailbox unavailable',
      });
    });
    const outcome = await sendOrderConfirmation(message, delivery(), h.deps);
    expect(confirmationFate(outcome)).toEqual({
      kind: 'dead-letter',
      reason: 'SMTP server rejected the message at RCPT TO with 550',
      detail: '550 5.1.1 mailbox unavailable',
    });
    expect(h.calls.at(-1)).toBe(
      'markFailed t1 SMTP server rejected the message at RCPT TO with 550 | 550 5.1.1 mailbox unavailable',
    );
    expect(h.published).toEqual([
      {
        failed: {
          orderId: message.orderId,
          reason: 'SMTP server rejected the message at RCPT TO with 550',
          smtpResponse: '550 5.1.1 mailbox unavailable',
          occurredAt: at,
        },
      },
    ]);
  });

  it('on the last attempt the runner allows a deferral becomes final: email.failed, then a retry the runner dead-letters', async () => {
    const h = harness(claimed, async () => {
      throw new MailDeliveryError('SMTP server deferred the message at RCPT TO: 452 4.2.2 mailbox full', {
        retryable: true,
        responseCode: 452,
        smtpResponse: '452 4.2.2 mailbox full',
      });
    });
    const outcome = await sendOrderConfirmation(message, delivery(3, 3), h.deps);
    expect(outcome).toMatchObject({ kind: 'deferred', final: true });
    expect(confirmationFate(outcome)).toMatchObject({ kind: 'retry' });
    expect(h.calls.at(-1)).toMatch(/^markFailed t1 gave up after 3 attempts: SMTP server deferred/);
    expect(h.published).toEqual([
      { failed: expect.objectContaining({ reason: expect.stringMatching(/^gave up after 3 attempts/) }) },
    ]);
  });

  it('pauses for an unreachable SMTP server on any attempt, the last too: claim released, nothing recorded as failed or published', async () => {
    for (const attempt of [1, 3]) {
      const h = harness(claimed, async () => {
        throw new MailDeliveryError('SMTP server unreachable (ECONNREFUSED): connect ECONNREFUSED', {
          retryable: true,
          code: 'ECONNREFUSED',
          unreachable: true,
        });
      });
      const outcome = await sendOrderConfirmation(message, delivery(attempt, 3), h.deps);
      expect(confirmationFate(outcome), `attempt ${attempt}`).toEqual({
        kind: 'unavailable',
        dependency: 'smtp',
        reason: 'SMTP server unreachable (ECONNREFUSED): connect ECONNREFUSED',
      });
      expect(h.calls.at(-1)).toBe('release t1 SMTP server unreachable (ECONNREFUSED): connect ECONNREFUSED');
      expect(h.calls.some((c) => c.startsWith('markFailed'))).toBe(false);
      expect(h.published).toEqual([]);
    }
  });

  it('keeps trying to record an accepted send while the database is away, and never sends twice', async () => {
    const h = harness(claimed, ok);
    let refusals = 2;
    const markSent = h.deps.repository.markSent;
    const deps: SendOrderConfirmationDeps = {
      ...h.deps,
      recordRetryDelayMs: () => 1,
      repository: {
        ...h.deps.repository,
        markSent: async (orderId, r) => {
          if (refusals-- > 0) {
            h.calls.push('markSent refused');
            throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
          }
          return markSent(orderId, r);
        },
      },
    };
    await sendOrderConfirmation(message, delivery(), deps);
    expect(h.calls).toEqual([
      `claim ${message.orderId} lease=60000`,
      'send',
      'markSent refused',
      'markSent refused',
      'markSent 250 2.0.0 OK',
    ]);
    expect(h.published).toEqual([{ sent: expect.objectContaining({ orderId: message.orderId }) }]);
  });

  it('gives up recording once the claim could expire, so the failure is not hidden', async () => {
    const h = harness(claimed, ok);
    const deps: SendOrderConfirmationDeps = {
      ...h.deps,
      leaseMs: 50,
      recordRetryDelayMs: () => 20,
      repository: {
        ...h.deps.repository,
        markSent: async () => {
          h.calls.push('markSent refused');
          throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
        },
      },
    };
    await expect(sendOrderConfirmation(message, delivery(), deps)).rejects.toThrow(/ECONNREFUSED/);
    expect(h.calls.filter((c) => c === 'send')).toHaveLength(1);
    expect(h.calls.filter((c) => c === 'markSent refused').length).toBeLessThanOrEqual(3);
    expect(h.published).toEqual([]);
  });

  it('treats an unclassified error from the mailer as transient', async () => {
    const h = harness(claimed, async () => {
      throw new Error('socket hang up');
    });
    const outcome = await sendOrderConfirmation(message, delivery(), h.deps);
    expect(outcome).toMatchObject({ kind: 'deferred', final: false });
    expect(h.calls.at(-1)).toMatch(/^release t1 SMTP send failed: socket hang up/);
  });
});

describe('sendOrderConfirmations (a window)', () => {
  it('claims the whole window in one call, then sends and announces each message on its own', async () => {
    const h = harness(claimed, ok);
    const other = { ...message, orderId: '22222222-2222-4222-8222-222222222222' };
    const results = await sendOrderConfirmations(
      [
        { message, delivery: delivery() },
        { message: other, delivery: delivery() },
      ],
      h.deps,
    );
    expect(results.map((r) => r.status === 'fulfilled' && r.value.kind)).toEqual(['sent', 'sent']);
    expect(h.calls.filter((c) => c.startsWith('claim'))).toEqual([
      `claimAll ${message.orderId},${other.orderId}`,
    ]);
    expect(h.calls.filter((c) => c === 'send')).toHaveLength(2);
    expect(h.published).toHaveLength(2);
  });

  it('fails only the message whose send failed unexpectedly', async () => {
    let n = 0;
    const h = harness(claimed, async () => {
      if (++n === 1) throw new Error('boom');
      return { smtpResponse: '250 OK' };
    });
    const results = await sendOrderConfirmations(
      [
        { message, delivery: delivery() },
        { message: { ...message, orderId: '22222222-2222-4222-8222-222222222222' }, delivery: delivery() },
      ],
      h.deps,
    );
    expect(results.map((r) => r.status === 'fulfilled' && r.value.kind)).toEqual(['deferred', 'sent']);
  });
});
