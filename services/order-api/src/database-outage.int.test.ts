import { CHANNELS } from '@notify/contracts';
import { createTestVhost, waitFor } from '@notify/messaging/testing';
import type { TestVhost } from '@notify/messaging/testing';
import { ADMIN_DATABASE_URL, createTestDatabase } from '@notify/service-kit/testing';
import type { TestDatabase } from '@notify/service-kit/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROBLEM_TYPES } from './http/problem.js';
import type { RunningOrderApi } from './server.js';
import { validOrder } from './test-support/order-fixtures.js';
import { startTestApi, unpublished } from './test-support/test-api.js';

// The database "goes down" for this suite alone: it stops accepting connections and
// every session to it is terminated, which is what the API sees when PostgreSQL
// restarts or a failover happens, without touching the shared server.

let vh: TestVhost;
let db: TestDatabase;
let api: RunningOrderApi;
let admin: pg.Client;

async function takeDatabaseDown() {
  await admin.query(`ALTER DATABASE "${db.name}" ALLOW_CONNECTIONS false`);
  await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [db.name]);
}
async function bringDatabaseBack() {
  await admin.query(`ALTER DATABASE "${db.name}" ALLOW_CONNECTIONS true`);
}

beforeAll(async () => {
  [vh, db] = await Promise.all([createTestVhost('order-dbdown'), createTestDatabase('order_dbdown')]);
  admin = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  await admin.connect();
  // The safety poll is out of the picture: only NOTIFY can make the relay publish quickly.
  api = await startTestApi({
    AMQP_URL: vh.url,
    DATABASE_URL: db.url,
    OUTBOX_POLL_INTERVAL_MS: '600000',
    OUTBOX_MAX_BACKOFF_MS: '1000',
  });
  await api.broker.waitUntilConnected();
  await waitFor(() => api.relay?.listening, { what: 'relay listening' });
});
afterAll(async () => {
  await bringDatabaseBack().catch(() => undefined);
  await api?.stop();
  await admin?.end();
  await vh?.delete();
  await db?.drop();
});

const post = () => api.app.inject({ method: 'POST', url: '/orders', payload: validOrder() });

describe('when the database is unavailable', () => {
  it('POST answers 503 problem (never 201) and readiness fails; both recover with the database', async () => {
    await takeDatabaseDown();
    try {
      const res = await post();
      expect(res.statusCode).toBe(503);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.headers['retry-after']).toBe('5');
      expect(res.json()).toMatchObject({ type: PROBLEM_TYPES.storageUnavailable, status: 503 });
      expect(res.body).not.toMatch(/accepting connections|pg|postgres|stack/i);

      const ready = await api.app.inject({ url: '/readyz' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json()).toEqual({ status: 'not ready', checks: { database: false, broker: true } });
      expect((await api.app.inject({ url: '/healthz' })).statusCode).toBe(200);
      // A scrape still answers; the outbox gauges keep their last values.
      expect((await api.app.inject({ url: '/metrics' })).statusCode).toBe(200);
    } finally {
      await bringDatabaseBack();
    }

    await waitFor(async () => (await api.app.inject({ url: '/readyz' })).statusCode === 200, {
      what: 'ready again',
    });
    // The LISTEN session was terminated too; it must come back for new orders to be
    // picked up without the (disabled) poll.
    await waitFor(() => api.relay?.listening, { what: 'LISTEN re-established' });
    const res = await post();
    expect(res.statusCode).toBe(201);
    const { id } = res.json() as { id: string };
    await waitFor(async () => (await unpublished(api.pool)) === 0, { what: 'published after recovery' });
    for (const c of CHANNELS) {
      expect((await vh.take(c, 100)).map((m) => m.properties.message_id)).toEqual([`${id}:${c}`]);
    }
  });
});
