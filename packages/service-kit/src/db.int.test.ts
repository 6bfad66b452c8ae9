import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, withTransaction } from './db.js';
import type { Pool } from './db.js';
import { createTestDatabase } from './testing/index.js';
import type { TestDatabase } from './testing/index.js';

let db: TestDatabase;
let pool: Pool;
beforeAll(async () => {
  db = await createTestDatabase('kitdb');
  pool = createPool({ url: db.url, schema: 'public', max: 1 });
});
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

describe('createPool', () => {
  it('a client handed from one owner to a waiting one never emits an error without a listener', async () => {
    const first = await pool.connect();
    const waiting = pool.connect();
    // The release hands the client to the waiter at once; a connection error in the same
    // tick (the rest of a socket chunk) must not throw out of the emitter.
    first.release();
    expect(() =>
      first.emit('error', new Error('terminating connection due to administrator command')),
    ).not.toThrow();
    const second = await waiting;
    second.release(true);
    // The pool goes on with a fresh connection.
    expect((await pool.query<{ n: number }>('SELECT 1 AS n')).rows[0]?.n).toBe(1);
  });

  it('a terminated session fails the transaction it is in, and the pool recovers', async () => {
    const admin = createPool({ url: db.url, schema: 'public', max: 1 });
    try {
      await expect(
        withTransaction(pool, async (client) => {
          const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
          await admin.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
          await client.query('SELECT 1');
        }),
      ).rejects.toThrow();
      expect((await pool.query<{ n: number }>('SELECT 1 AS n')).rows[0]?.n).toBe(1);
    } finally {
      await admin.end();
    }
  });
});
