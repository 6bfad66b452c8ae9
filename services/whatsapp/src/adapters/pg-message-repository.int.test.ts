import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { exampleMessages } from '@notify/contracts';
import { waitFor } from '@notify/messaging/testing';
import { createPool, migrate } from '@notify/service-kit';
import type { Pool } from '@notify/service-kit';
import { createTestDatabase, testDeliveryMeta } from '@notify/service-kit/testing';
import type { TestDatabase } from '@notify/service-kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendOrderWhatsapp } from '../send-order-whatsapp.js';
import type { MessageClaim, SendOrderWhatsappDeps } from '../send-order-whatsapp.js';
import { PgMessageRepository, readMessageState } from './pg-message-repository.js';

let db: TestDatabase;
let pool: Pool;
let repository: PgMessageRepository;

beforeAll(async () => {
  db = await createTestDatabase('whatsapp_ledger');
  await migrate({
    url: db.url,
    schema: 'whatsapp',
    dir: fileURLToPath(new URL('../../migrations', import.meta.url)),
  });
  pool = createPool({ url: db.url, schema: 'whatsapp' });
  repository = new PgMessageRepository(pool);
});
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

const sid = () => `SM${randomUUID().replace(/-/g, '')}`;
const claim = (orderId: string) => ({ orderId, messageId: `${orderId}:whatsapp`, to: '+447700900123' });
const LEASE_MS = 60_000;

/** Claims the order and records `messageSid` as its message, as a delivery whose send Twilio accepted. */
async function claimAndRecord(c: MessageClaim, messageSid: string) {
  const [claimed] = await repository.claimAll([
    { orderId: c.orderId, messageId: c.messageId, leaseMs: LEASE_MS },
  ]);
  expect(claimed).toMatchObject({ kind: 'claimed' });
  const [result] = await repository.recordAll([
    { claim: c, accepted: { sid: messageSid, status: 'queued' } },
  ]);
  if (!result) throw new Error('expected a record');
  return result;
}

const claimsOf = async (orderId: string) =>
  (await pool.query('SELECT takeovers FROM send_claims WHERE order_id = $1', [orderId])).rows;

describe('PgMessageRepository', () => {
  it('when two deliveries of one order race for the claim, one claims and the other finds it busy; both later see the one message', async () => {
    const orderId = randomUUID();
    const requests = [`${orderId}:whatsapp`, `${orderId}:replayed`].map((messageId) =>
      repository.claimAll([{ orderId, messageId, leaseMs: LEASE_MS }]),
    );
    const results = (await Promise.all(requests)).map((r) => r[0]);
    expect(results.map((r) => r?.kind).sort()).toEqual(['busy', 'claimed']);
    const winner = results.findIndex((r) => r?.kind === 'claimed');
    const messageSid = sid();
    const messageId = winner === 0 ? `${orderId}:whatsapp` : `${orderId}:replayed`;
    const [recorded] = await repository.recordAll([
      { claim: { ...claim(orderId), messageId }, accepted: { sid: messageSid, status: 'queued' } },
    ]);
    expect(recorded).toMatchObject({
      outcome: 'sent',
      record: { messageSid, messageId, acceptedStatus: 'queued' },
    });
    expect(await claimsOf(orderId)).toEqual([]);
    const [again] = await repository.claimAll([{ orderId, messageId: 'later', leaseMs: LEASE_MS }]);
    expect(again).toEqual({ kind: 'sent', record: recorded?.record });
  });

  it('claims a window in one call: a new order claimed, a sent one answered with its message, a live claim and a second request for an order busy', async () => {
    const [fresh, sent, held] = [randomUUID(), randomUUID(), randomUUID()];
    const sentSid = sid();
    await claimAndRecord(claim(sent), sentSid);
    await repository.claimAll([{ orderId: held, messageId: 'other-replica', leaseMs: LEASE_MS }]);
    const results = await repository.claimAll(
      [fresh, sent, held, fresh].map((orderId, i) => ({ orderId, messageId: `w${i}`, leaseMs: LEASE_MS })),
    );
    expect(results.map((r) => r.kind)).toEqual(['claimed', 'sent', 'busy', 'busy']);
    expect(results[1]).toMatchObject({ record: { messageSid: sentSid } });
    expect(results[0]).toMatchObject({ tookOver: false });
  });

  it('finds an order however the message spells its id (upper-case uuid)', async () => {
    const orderId = randomUUID();
    await claimAndRecord(claim(orderId), sid());
    const [found] = await repository.claimAll([
      { orderId: orderId.toUpperCase(), messageId: 'x', leaseMs: LEASE_MS },
    ]);
    expect(found?.kind).toBe('sent');
  });

  it('takes an expired claim over once, and the late release of its first holder does not end the new claim', async () => {
    const orderId = randomUUID();
    const [dead] = await repository.claimAll([{ orderId, messageId: 'died', leaseMs: LEASE_MS }]);
    if (dead?.kind !== 'claimed') throw new Error('expected a claim');
    await pool.query("UPDATE send_claims SET lease_until = now() - interval '1 second' WHERE order_id = $1", [
      orderId,
    ]);
    const [a, b] = await Promise.all(
      ['takes-over-1', 'takes-over-2'].map(
        async (messageId) => (await repository.claimAll([{ orderId, messageId, leaseMs: LEASE_MS }]))[0],
      ),
    );
    expect([a?.kind, b?.kind].sort()).toEqual(['busy', 'claimed']);
    expect([a, b].find((r) => r?.kind === 'claimed')).toMatchObject({ tookOver: true });
    await repository.release(orderId, dead.token);
    expect(await claimsOf(orderId)).toEqual([{ takeovers: 1 }]);
  });

  it('a claim given back after a send that sent nothing can be taken at once, and nothing is recorded', async () => {
    const orderId = randomUUID();
    const [first] = await repository.claimAll([{ orderId, messageId: 'm', leaseMs: LEASE_MS }]);
    if (first?.kind !== 'claimed') throw new Error('expected a claim');
    await repository.release(orderId, first.token);
    expect(await readMessageState(pool, orderId)).toBeUndefined();
    const [retried] = await repository.claimAll([{ orderId, messageId: 'm', leaseMs: LEASE_MS }]);
    expect(retried).toMatchObject({ kind: 'claimed', tookOver: false });
  });

  it('records a window of accepted messages in one call, ending their claims; an order recorded meanwhile keeps its message', async () => {
    const orders = [randomUUID(), randomUUID(), randomUUID()];
    await repository.claimAll(
      orders.map((orderId) => ({ orderId, messageId: `${orderId}:whatsapp`, leaseMs: LEASE_MS })),
    );
    const firstSid = sid();
    // The third order's claim expired and another delivery sent and recorded it first.
    await repository.recordAll([{ claim: claim(orders[2]!), accepted: { sid: firstSid, status: 'queued' } }]);
    const sids = orders.map(() => sid());
    const results = await repository.recordAll(
      orders.map((orderId, i) => ({
        claim: {
          ...claim(orderId),
          sms: { body: `text ${i}`, subscriber: { client: 'c', customerKey: `k${i}` } },
        },
        accepted: {
          sid: sids[i]!,
          status: 'queued',
          ...(i === 1 ? { via: 'sms' as const, fallbackReason: 'WhatsApp error 63003' } : {}),
        },
      })),
    );
    expect(results.map((r) => r.outcome)).toEqual(['sent', 'sent', 'duplicate']);
    expect(results.map((r) => r.record.messageSid)).toEqual([sids[0], sids[1], firstSid]);
    expect(results[1]?.record).toMatchObject({ via: 'sms', fallbackReason: 'WhatsApp error 63003' });
    const kept = await pool.query<{ order_id: string; sms_body: string | null }>(
      'SELECT order_id, sms_body FROM messages WHERE order_id = ANY($1::uuid[]) ORDER BY sms_body',
      [orders.slice(0, 2)],
    );
    // The SMS text is kept for the WhatsApp message's late fallback, not for the SMS.
    expect(kept.rows.map((r) => r.sms_body)).toEqual(['text 0', null]);
    for (const orderId of orders) expect(await claimsOf(orderId)).toEqual([]);
    const state = await readMessageState(pool, orders[0]!);
    expect(state?.history.map((h) => h.status)).toEqual(['queued']);
  });

  it('holds no lock across the late SMS fallback: the order stays claimable meanwhile, a second callback is refused, the SMS recorded once', async () => {
    const orderId = randomUUID();
    const waSid = sid();
    const smsSid = sid();
    await claimAndRecord({ ...claim(orderId), sms: { body: 'Your order ORD-1' } }, waSid);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const attempts: string[] = [];
    const fallback = repository.fallBackOnce(orderId, waSid, async (pending) => {
      attempts.push(pending.body);
      await gate;
      return {
        kind: 'sent',
        accepted: { sid: smsSid, status: 'queued', via: 'sms', fallbackReason: 'WhatsApp error 63016' },
      };
    });
    await waitFor(() => attempts.length === 1, { what: 'the SMS to be under way' });
    // A window claiming the order is answered at once, not held behind the SMS call.
    const [meanwhile] = await repository.claimAll([{ orderId, messageId: 'redelivered', leaseMs: LEASE_MS }]);
    expect(meanwhile).toMatchObject({ kind: 'sent', record: { messageSid: waSid } });
    await expect(
      repository.fallBackOnce(orderId, waSid, async () => ({ kind: 'skipped', reason: 'x' })),
    ).rejects.toThrow('another callback');
    release();
    expect(await fallback).toMatchObject({
      outcome: 'sent',
      record: { messageSid: smsSid, via: 'sms', replacedSid: waSid },
    });
    expect(await claimsOf(orderId)).toEqual([]);
    expect(
      await repository.fallBackOnce(orderId, waSid, async () => ({ kind: 'skipped', reason: 'x' })),
    ).toMatchObject({
      outcome: 'duplicate',
      record: { messageSid: smsSid },
    });
    expect(attempts).toEqual(['Your order ORD-1']);
  });

  it('merges statuses Twilio reported before the send committed, in the order they arrived', async () => {
    const orderId = randomUUID();
    const messageSid = sid();
    expect(
      await repository.recordStatus({
        messageSid,
        status: 'sent',
        errorCode: undefined,
        receivedAt: '2026-01-01T00:00:01.000Z',
      }),
    ).toEqual({ outcome: 'unmatched' });
    await repository.recordStatus({
      messageSid,
      status: 'delivered',
      errorCode: undefined,
      receivedAt: '2026-01-01T00:00:02.000Z',
    });
    const result = await claimAndRecord(claim(orderId), messageSid);
    if (result.outcome !== 'sent') throw new Error('expected a send');
    expect(result.earlyStatuses.map((s) => s.status)).toEqual(['sent', 'delivered']);
    const state = await readMessageState(pool, orderId);
    expect(state?.status).toBe('delivered');
    const parked = await pool.query('SELECT 1 FROM unmatched_statuses WHERE message_sid = $1', [messageSid]);
    expect(parked.rowCount).toBe(0);
  });

  it('keeps the trace the message was sent in, for its status callbacks to continue; a malformed one is not kept', async () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const traced = randomUUID();
    const tracedSid = sid();
    await claimAndRecord({ ...claim(traced), traceparent }, tracedSid);
    const untraced = randomUUID();
    const untracedSid = sid();
    await claimAndRecord({ ...claim(untraced), traceparent: 'not-a-traceparent' }, untracedSid);
    const receivedAt = new Date().toISOString();
    expect(
      await repository.recordStatus({
        messageSid: tracedSid,
        status: 'delivered',
        errorCode: undefined,
        receivedAt,
      }),
    ).toMatchObject({ outcome: 'recorded', record: { orderId: traced, traceparent } });
    const other = await repository.recordStatus({
      messageSid: untracedSid,
      status: 'delivered',
      errorCode: undefined,
      receivedAt,
    });
    expect(other.outcome).toBe('recorded');
    expect(other.outcome !== 'unmatched' && other.record.traceparent).toBeUndefined();
  });

  it('stores each status once, never moves backwards, and keeps the first record of a repeat', async () => {
    const orderId = randomUUID();
    const messageSid = sid();
    await claimAndRecord(claim(orderId), messageSid);
    const report = (status: 'sent' | 'delivered' | 'undelivered', receivedAt: string, errorCode?: number) =>
      repository.recordStatus({ messageSid, status, errorCode, receivedAt });

    expect(await report('delivered', '2026-01-01T00:00:02.000Z')).toMatchObject({
      outcome: 'recorded',
      current: 'delivered',
    });
    expect(await report('sent', '2026-01-01T00:00:03.000Z')).toMatchObject({
      outcome: 'recorded',
      current: 'delivered',
      record: { status: 'sent' },
    });
    expect(await report('delivered', '2026-01-01T00:00:09.000Z')).toMatchObject({
      outcome: 'duplicate',
      record: { status: 'delivered', occurredAt: '2026-01-01T00:00:02.000Z' },
    });
    expect(await report('undelivered', '2026-01-01T00:00:04.000Z', 30008)).toMatchObject({
      outcome: 'recorded',
      current: 'delivered',
    });
    const state = await readMessageState(pool, orderId);
    expect(state?.status).toBe('delivered');
    expect(state?.history.map((h) => h.status)).toEqual(['queued', 'delivered', 'sent', 'undelivered']);
  });
});

describe('the use case on PostgreSQL', () => {
  it('when the database cannot take the record after Twilio accepted, records it as soon as it can, so a retry sends nothing', async () => {
    // Statements on this pool give up on a lock after 200 ms: "the database cannot take this now".
    const impatient = createPool({ url: db.url, schema: 'whatsapp', max: 2, lock_timeout: 200 });
    const blocker = await pool.connect();
    try {
      const store = new PgMessageRepository(impatient);
      let failures = 0;
      const recordAll = store.recordAll.bind(store);
      store.recordAll = async (sends) => {
        try {
          return await recordAll(sends);
        } catch (err) {
          failures++;
          throw err;
        }
      };
      const message = { ...exampleMessages.whatsapp, orderId: randomUUID() };
      const messageSid = sid();
      let sends = 0;
      const deps: SendOrderWhatsappDeps = {
        sender: {
          send: async () => {
            sends++;
            // A callback of this SID is being stored right now and holds its lock.
            await blocker.query('BEGIN');
            await blocker.query("SELECT pg_advisory_xact_lock(hashtextextended('whatsapp:sid:' || $1, 0))", [
              messageSid,
            ]);
            return { sid: messageSid, status: 'queued' };
          },
          sendSms: async () => {
            throw new Error('no SMS expected');
          },
        },
        repository: store,
        events: {
          sent: async () => undefined,
          status: async () => undefined,
          failed: async () => undefined,
          skipped: async () => undefined,
        },
        content: { mode: 'session', contentSid: '', contentSidsByLocale: {} },
        statusCallbackUrl: () => undefined,
        preferences: { optedOut: async () => false },
        optOuts: { isOptedOut: async () => false, optOut: async () => true, optIn: async () => true },
        smsFallback: false,
        leaseMs: LEASE_MS,
        requestTimeoutMs: 5_000,
        recordRetryDelayMs: () => 50,
      };
      const meta = testDeliveryMeta({ messageId: `${message.orderId}:whatsapp` });
      const sending = sendOrderWhatsapp(message, meta, deps);
      await waitFor(() => failures >= 2, { what: 'two failed tries to record' });
      await blocker.query('COMMIT');
      expect(await sending).toMatchObject({ kind: 'sent', record: { messageSid } });
      expect(await claimsOf(message.orderId)).toEqual([]);

      const again = await sendOrderWhatsapp(message, { ...meta, messageId: 'replayed' }, deps);
      expect(again).toMatchObject({ kind: 'duplicate', record: { messageSid } });
      expect(sends).toBe(1);
    } finally {
      await blocker.query('ROLLBACK').catch(() => undefined);
      blocker.release();
      await impatient.end();
    }
  });
});
