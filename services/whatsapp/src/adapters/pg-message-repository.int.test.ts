import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createPool, migrate } from '@notify/service-kit';
import type { Pool } from '@notify/service-kit';
import { waitFor } from '@notify/messaging/testing';
import { createTestDatabase } from '@notify/service-kit/testing';
import type { TestDatabase } from '@notify/service-kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

describe('PgMessageRepository', () => {
  it('when two deliveries of one order race, Twilio is called once and both see the same message', async () => {
    const orderId = randomUUID();
    const messageSid = sid();
    const sentBy: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const sendAs = (messageId: string) => async () => {
      sentBy.push(messageId);
      await gate;
      return { sid: messageSid, status: 'queued' };
    };
    const deliveries = [`${orderId}:whatsapp`, `${orderId}:replayed`].map((messageId) =>
      repository.sendOnce({ ...claim(orderId), messageId }, sendAs(messageId)),
    );
    // Whichever got the order's claim is inside Twilio; the other must be queued on the claim.
    await waitFor(() => sentBy.length === 1, { what: 'one send to start' });
    await waitFor(
      async () =>
        (
          await pool.query(
            "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
          )
        ).rowCount === 1,
      { what: 'the other delivery to wait on the order lock' },
    );
    release();
    const [a, b] = await Promise.all(deliveries);
    if (!a || !b) throw new Error('expected two results');
    const results = [a, b] as const;
    expect(sentBy).toHaveLength(1);
    expect(results.map((r) => r.outcome).sort()).toEqual(['duplicate', 'sent']);
    expect(results[0].record).toEqual(results[1].record);
    expect(results[0].record).toMatchObject({ messageSid, messageId: sentBy[0], acceptedStatus: 'queued' });
  });

  it('when the connection dies after Twilio accepted, records the message on a new one, so a retry does not send again', async () => {
    const orderId = randomUUID();
    const messageSid = sid();
    let sends = 0;
    const result = await repository.sendOnce(claim(orderId), async () => {
      sends++;
      // The database drops the transaction's connection while Twilio is answering.
      const killed = await pool.query(
        `SELECT pg_terminate_backend(pid) FROM pg_locks
          WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()
            AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      );
      expect(killed.rowCount).toBe(1);
      return { sid: messageSid, status: 'queued' };
    });
    expect(result).toMatchObject({ outcome: 'sent', record: { orderId, messageSid } });
    expect(await readMessageState(pool, orderId)).toMatchObject({ record: { messageSid } });
    const retried = await repository.sendOnce(claim(orderId), async () => {
      sends++;
      return { sid: sid(), status: 'queued' };
    });
    expect(retried).toMatchObject({ outcome: 'duplicate', record: { messageSid } });
    expect(sends).toBe(1);
  });

  it('records nothing when the send fails, so a retry sends again', async () => {
    const orderId = randomUUID();
    await expect(
      repository.sendOnce(claim(orderId), async () => {
        throw new Error('Twilio answered 503');
      }),
    ).rejects.toThrow('503');
    expect(await readMessageState(pool, orderId)).toBeUndefined();
    const retried = await repository.sendOnce(claim(orderId), async () => ({ sid: sid(), status: 'queued' }));
    expect(retried.outcome).toBe('sent');
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
    const result = await repository.sendOnce(claim(orderId), async () => ({
      sid: messageSid,
      status: 'queued',
    }));
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
    await repository.sendOnce({ ...claim(traced), traceparent }, async () => ({
      sid: tracedSid,
      status: 'queued',
    }));
    const untraced = randomUUID();
    const untracedSid = sid();
    await repository.sendOnce({ ...claim(untraced), traceparent: 'not-a-traceparent' }, async () => ({
      sid: untracedSid,
      status: 'queued',
    }));
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
    await repository.sendOnce(claim(orderId), async () => ({ sid: messageSid, status: 'queued' }));
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
