import { waitFor } from '@notify/messaging/testing';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from './db.js';
import type { Pool } from './db.js';
import { RetentionSweeper } from './retention.js';
import type { RetentionRule } from './retention.js';
import { createTestDatabase } from './testing/index.js';
import type { TestDatabase } from './testing/index.js';

let db: TestDatabase;
let pool: Pool;
beforeAll(async () => {
  db = await createTestDatabase('retention');
  pool = createPool({ url: db.url, schema: 'kit' });
  await pool.query('CREATE SCHEMA kit');
  await pool.query(`CREATE TABLE kit.events (id int PRIMARY KEY, done_at timestamptz)`);
});
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

const DAY = 86_400_000;
const rule: RetentionRule = {
  name: 'done-events',
  table: 'events',
  olderThan: 'done_at < $1',
  maxAgeMs: 7 * DAY,
};

/** 2,500 old finished rows, 10 recent ones and 5 unfinished ones (done_at NULL). */
async function seed() {
  await pool.query('TRUNCATE events');
  await pool.query(`INSERT INTO events SELECT g, now() - interval '30 days' FROM generate_series(1, 2500) g`);
  await pool.query(
    `INSERT INTO events SELECT g, now() - interval '1 day' FROM generate_series(2501, 2510) g`,
  );
  await pool.query(`INSERT INTO events SELECT g, NULL FROM generate_series(2511, 2515) g`);
}

describe('RetentionSweeper', () => {
  it('deletes in batches exactly the rows the rule names, and counts them', async () => {
    await seed();
    const registry = new Registry();
    const sweeper = new RetentionSweeper({
      pool,
      rules: [rule],
      intervalMs: 60_000,
      batchSize: 1000,
      registry,
    });
    expect(await sweeper.sweep()).toEqual({ 'done-events': 2500 });
    const left = await pool.query<{ id: number }>('SELECT id FROM events ORDER BY id');
    expect(left.rows.map((r) => r.id)).toEqual(Array.from({ length: 15 }, (_, i) => 2501 + i));
    expect(await registry.getSingleMetricAsString('retention_rows_deleted_total')).toContain(
      'retention_rows_deleted_total{rule="done-events"} 2500',
    );
    // Nothing more to do: a second sweep deletes nothing.
    expect(await sweeper.sweep()).toEqual({ 'done-events': 0 });
    await sweeper.stop();
  });

  it('lets two replicas sweep at once without deleting anything twice or anything else', async () => {
    await seed();
    const a = new RetentionSweeper({ pool, rules: [rule], intervalMs: 60_000, batchSize: 100 });
    const b = new RetentionSweeper({ pool, rules: [rule], intervalMs: 60_000, batchSize: 100 });
    const [ra, rb] = await Promise.all([a.sweep(), b.sweep()]);
    // One may back off while the other holds the table's lock; a later sweep finishes the job.
    const rest = await a.sweep();
    expect(ra['done-events']! + rb['done-events']! + rest['done-events']!).toBe(2500);
    expect((await pool.query('SELECT count(*)::int AS n FROM events')).rows[0].n).toBe(15);
  });

  it('runs on its timer once started, and stops', async () => {
    await seed();
    const sweeper = new RetentionSweeper({ pool, rules: [rule], intervalMs: 200 });
    sweeper.start();
    await waitFor(
      async () => (await pool.query('SELECT count(*)::int AS n FROM events')).rows[0].n === 15 || undefined,
      { what: 'the timed sweep' },
    );
    await sweeper.stop();
  });

  it('refuses an unsafe table name and a rule without an age', () => {
    expect(
      () => new RetentionSweeper({ pool, rules: [{ ...rule, table: 'events; DROP' }], intervalMs: 1 }),
    ).toThrow('safe PostgreSQL identifier');
    expect(() => new RetentionSweeper({ pool, rules: [{ ...rule, maxAgeMs: 0 }], intervalMs: 1 })).toThrow(
      'maxAgeMs must be positive',
    );
  });

  it('keeps going after a failed sweep (a missing table here) and succeeds once it can', async () => {
    const warnings: string[] = [];
    const logger = { info: () => undefined, warn: (_: unknown, msg: string) => void warnings.push(msg) };
    const sweeper = new RetentionSweeper({
      pool,
      rules: [{ ...rule, table: 'later' }],
      intervalMs: 100,
      logger: logger as unknown as Logger,
    });
    sweeper.start();
    await waitFor(async () => warnings.length >= 2 || undefined, { what: 'two failed sweeps' });
    expect(warnings[0]).toContain('retention sweep failed');
    await pool.query(`CREATE TABLE later (id int PRIMARY KEY, done_at timestamptz)`);
    await pool.query(`INSERT INTO later SELECT g, now() - interval '30 days' FROM generate_series(1, 50) g`);
    await waitFor(
      async () => (await pool.query('SELECT count(*)::int AS n FROM later')).rows[0].n === 0 || undefined,
      { what: 'the sweep after the table appeared' },
    );
    await sweeper.stop();
  });
});
