import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createPool, migrate } from '@notify/service-kit';
import type { Pool } from '@notify/service-kit';
import { createTestDatabase } from '@notify/service-kit/testing';
import type { TestDatabase } from '@notify/service-kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AssessmentRequest, VelocityKeys } from '../assess-order.js';
import type { Assessment, HistoryCounts } from '../score-order.js';
import { PgAssessmentRepository } from './pg-assessment-repository.js';

let db: TestDatabase;
let pool: Pool;
let repo: PgAssessmentRepository;

beforeAll(async () => {
  db = await createTestDatabase('fraud_repo');
  const dir = fileURLToPath(new URL('../../migrations', import.meta.url));
  await migrate({ url: db.url, schema: 'fraud', dir });
  pool = createPool({ url: db.url, schema: 'fraud', max: 12 });
  repo = new PgAssessmentRepository(pool);
});
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

const windows = { emailMinutes: 60, phoneMinutes: 30, ipMinutes: 10, lookbackMinutes: 24 * 60 };
const T0 = Date.parse('2026-11-23T09:00:00.000Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();

function request(keys: VelocityKeys, placedAt: string, orderId = randomUUID()): AssessmentRequest {
  return {
    orderId,
    messageId: `${orderId}:fraud`,
    placedAt,
    keys,
    windows,
    rulesVersion: 'test',
    amount: 1000,
    currency: 'EUR',
  };
}

const seen: HistoryCounts[] = [];
const recordHistory = (history: HistoryCounts): Assessment => {
  seen.push(history);
  return { score: 0, decision: 'approve', rules: [] };
};

async function historyOf(keys: VelocityKeys, placedAt: string): Promise<HistoryCounts> {
  const { stored } = await repo.assessOnce(request(keys, placedAt), recordHistory);
  return stored.history;
}

const customer = (): VelocityKeys => ({
  email: `${randomUUID()}@example.com`,
  phone: `+4477009${Math.floor(Math.random() * 1e5)}`,
  ip: `198.51.100.${Math.floor(Math.random() * 250)}`,
});

describe('PgAssessmentRepository', () => {
  it('counts other orders less than the window apart, on both sides, and not at the window edge', async () => {
    const c = customer();
    const email = { ...c, phone: `${c.phone}1`, ip: null };
    await historyOf(email, at(-60)); // exactly 60 minutes before: outside
    await historyOf(email, at(-59)); // inside
    await historyOf(email, at(59)); // inside, placed later but assessed earlier
    await historyOf(email, at(60)); // exactly 60 minutes after: outside
    const h = await historyOf(email, at(0));
    expect(h.email).toBe(2);
    // Same email, different phone each time, no IP.
    expect(h.phone).toBe(0);
    expect(h.ip).toBeNull();
    // All four are within the day of look-back.
    expect(h.emailLookback).toBe(4);
  });

  it('counts phone and IP in their own windows, independently of the email', async () => {
    const c = customer();
    await historyOf({ ...c, email: `a-${c.email}` }, at(-29));
    await historyOf({ ...c, email: `b-${c.email}` }, at(-9));
    const h = await historyOf({ ...c, email: `c-${c.email}` }, at(0));
    expect(h).toEqual({ email: 0, phone: 2, ip: 1, emailLookback: 0 });
  });

  it('assesses an order once: a second call returns the stored assessment without scoring or counting again', async () => {
    const c = customer();
    const req = request(c, at(0));
    const first = await repo.assessOnce(req, () => ({
      score: 42,
      decision: 'review',
      rules: [
        { id: 'country.mismatch', points: 42, detail: 'billing country DE differs from shipping country GB' },
      ],
    }));
    expect(first.created).toBe(true);
    let scored = false;
    const second = await repo.assessOnce(req, (h) => {
      scored = true;
      return recordHistory(h);
    });
    expect(scored).toBe(false);
    expect(second).toEqual({ stored: first.stored, created: false });
    expect(await repo.find(req.orderId)).toEqual(first.stored);
    const rows = await pool.query('SELECT count(*)::int AS n FROM observations WHERE order_id = $1', [
      req.orderId,
    ]);
    expect(rows.rows[0].n).toBe(1);
    // A later order of the same customer counts the first one once.
    expect((await historyOf(c, at(1))).email).toBe(1);
  });

  it('of orders sharing a key and assessed at the same time, each pair is counted exactly once', async () => {
    const c = customer();
    const n = 10;
    // Different emails and phones, the same IP: the IP lock alone must serialise them.
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        repo.assessOnce(
          request({ email: `${i}-${c.email}`, phone: `${c.phone}${i}`, ip: c.ip }, at(0)),
          recordHistory,
        ),
      ),
    );
    const counts = results.map((r) => r.stored.history.ip).sort((a, b) => (a ?? 0) - (b ?? 0));
    expect(counts).toEqual(Array.from({ length: n }, (_, i) => i));
  });

  it('assesses a window in one transaction, each order counting the ones before it that share a key', async () => {
    const c = customer();
    const items = [0, 1, 2].map((i) => ({
      request: request({ ...c, email: `${i}-${c.email}` }, at(i)),
      score: recordHistory,
    }));
    const results = await repo.assessAll([...items, items[0]!]);
    expect(results.map((r) => r.created)).toEqual([true, true, true, false]);
    expect(results.map((r) => r.stored.history.phone)).toEqual([0, 1, 2, 0]);
    const found = await repo.findMany(items.map((i) => i.request.orderId));
    expect(found.size).toBe(3);
  });

  it('of windows sharing a key and assessed at the same time, each pair is counted exactly once', async () => {
    const c = customer();
    const windows = Array.from({ length: 4 }, (_, w) =>
      Array.from({ length: 3 }, (_, i) => ({
        request: request({ email: `${w}-${i}-${c.email}`, phone: `${c.phone}${w}${i}`, ip: c.ip }, at(0)),
        score: recordHistory,
      })),
    );
    const results = (await Promise.all(windows.map((w) => repo.assessAll(w)))).flat();
    const counts = results.map((r) => r.stored.history.ip ?? 0).sort((a, b) => a - b);
    expect(counts).toEqual(Array.from({ length: 12 }, (_, i) => i));
  });

  it('keeps no email, phone or IP in the clear', async () => {
    const c = customer();
    await historyOf(c, at(0));
    const dump = await pool.query(`SELECT row_to_json(o)::text AS row FROM observations o`);
    const text = dump.rows.map((r: { row: string }) => r.row).join('\n');
    expect(text).not.toContain(c.email);
    expect(text).not.toContain(c.phone);
    expect(text).not.toContain(c.ip);
  });
});
