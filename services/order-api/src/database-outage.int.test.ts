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
import { startStandaloneRelay } from './test-support/standalone-relay.js';
import type { StandaloneRelay } from './test-support/standalone-relay.js';
import { startTestApi, unpublished } from './test-support/test-api.js';

// The database "goes down" for this suite alone: it stops accepting connections and
// every session to it is terminated, which is what the API sees when PostgreSQL
// restarts or a failover happens, without touching the shared server.

let vh: TestVhost;
let db: TestDatabase;
let api: RunningOrderApi;
let admin: pg.Client;
let relay: StandaloneRelay;

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
  api = await startTestApi({ AMQP_URL: vh.url, DATABASE_URL: db.url, RELAY_ENABLED: 'false' });
  await api.broker.waitUntilConnected();
  // A relay of another replica, with its safety poll out of the picture: it can only
  // learn of new rows through its LISTEN session.
  relay = await startStandaloneRelay(
    'outage-relay',
    { databaseUrl: db.url, amqpUrl: vh.url },
    { pollIntervalMs: 600_000, maxBackoffMs: 1_000 },
  );
  await waitFor(() => relay.relay.listening, { what: 'relay listening' });
});
afterAll(async () => {
  await bringDatabaseBack().catch(() => undefined);
  await relay?.stop();
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

      const ready = await api.ops.inject({ url: '/readyz' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json()).toEqual({
        status: 'not ready',
        checks: { database: false, broker: true, consumer: true },
      });
      expect((await api.ops.inject({ url: '/healthz' })).statusCode).toBe(200);
      // A scrape still answers; the outbox gauges keep their last values.
      expect((await api.ops.inject({ url: '/metrics' })).statusCode).toBe(200);
    } finally {
      await bringDatabaseBack();
    }

    await waitFor(async () => (await api.ops.inject({ url: '/readyz' })).statusCode === 200, {
      what: 'ready again',
    });
    // The LISTEN session was terminated too; it must come back for new orders to be
    // picked up without the (disabled) poll.
    await waitFor(() => relay.relay.listening, { what: 'LISTEN re-established' });
    const res = await post();
    expect(res.statusCode).toBe(201);
    const { id } = res.json() as { id: string };
    await waitFor(async () => (await unpublished(api.pool)) === 0, { what: 'published after recovery' });
    for (const c of CHANNELS) {
      expect((await vh.take(c, 100)).map((m) => m.properties.message_id)).toEqual([`${id}:${c}`]);
    }
  });
});
