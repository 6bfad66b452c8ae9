import { CHANNELS } from '@notify/contracts';
import { AMQP_URL, createTestVhost, waitFor } from '@notify/messaging/testing';
import type { TestVhost } from '@notify/messaging/testing';
import { createPool } from '@notify/service-kit';
import type { Pool, PoolClient } from '@notify/service-kit';
import { createTestDatabase, TcpProxy } from '@notify/service-kit/testing';
import type { TestDatabase } from '@notify/service-kit/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningOrderApi } from '../server.js';
import { validOrder } from '../test-support/order-fixtures.js';
import { startStandaloneRelay } from '../test-support/standalone-relay.js';
import { startTestApi, unpublished } from '../test-support/test-api.js';

let vh: TestVhost;
let db: TestDatabase;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  [vh, db] = await Promise.all([createTestVhost('order-relay'), createTestDatabase('order_relay')]);
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});
afterAll(async () => {
  await vh?.delete();
  await db?.drop();
});

async function start(env: Record<string, string>): Promise<RunningOrderApi> {
  const api = await startTestApi({ DATABASE_URL: db.url, ...env });
  cleanups.push(() => api.stop());
  return api;
}

async function relay(name: string, options: Parameters<typeof startStandaloneRelay>[2]) {
  const r = await startStandaloneRelay(name, { databaseUrl: db.url, amqpUrl: vh.url }, options);
  cleanups.push(() => r.stop());
  return r;
}

async function postOrder(api: RunningOrderApi): Promise<string> {
  const res = await api.app.inject({ method: 'POST', url: '/orders', payload: validOrder() });
  expect(res.statusCode, res.body).toBe(201);
  return (res.json() as { id: string }).id;
}

/** Reads every message from the five queues and counts them by message id. */
async function drainQueues(): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const c of CHANNELS) {
    // Before the first connection to the broker the queues are not declared yet.
    if (!(await vh.queue(c))) continue;
    for (;;) {
      const batch = await vh.take(c, 500);
      for (const m of batch) {
        const id = String(m.properties.message_id);
        counts.set(id, (counts.get(id) ?? 0) + 1);
      }
      if (batch.length < 500) break;
    }
  }
  return counts;
}

async function clearAll(pool: Pool) {
  await waitFor(async () => (await unpublished(pool)) === 0, { what: 'outbox drained' });
  await drainQueues();
  await pool.query('TRUNCATE orders, idempotency_keys, outbox, notification_states');
}

describe('outbox relay', () => {
  it('an order posted while RabbitMQ is unreachable gets 201, and its five messages arrive once when it is back', async () => {
    const target = new URL(AMQP_URL);
    const proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5672) });
    cleanups.push(() => proxy.cut());
    // The broker is unreachable from the start.
    await proxy.cut();
    const api = await start({ AMQP_URL: proxy.urlFor(vh.url), OUTBOX_MAX_BACKOFF_MS: '1000' });
    await clearAll(api.pool);

    const first = await postOrder(api);
    const ready = await api.ops.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    // The status consumer cannot attach without the broker either; both are only reported.
    expect(ready.json()).toEqual({
      status: 'degraded',
      checks: { database: true, broker: false, consumer: false },
      // The status consumer is named first; the dead-letter drains (one per dead-letter
      // queue) are not attached either and follow it.
      reasons: { consumer: expect.stringMatching(/^not consuming order-api\.events(;|$)/) },
    });
    const pending = (await api.app.inject({ url: `/orders/${first}` })).json();
    expect(pending.status).toBe('accepted');
    for (const c of CHANNELS) expect(pending.channels[c].state).toBe('pending');
    expect(await unpublished(api.pool)).toBe(5);

    await proxy.restore();
    await waitFor(async () => (await unpublished(api.pool)) === 0, {
      what: 'published after the broker came back',
    });

    // Now the broker goes away under a live connection.
    await proxy.cut();
    await waitFor(() => !api.broker.isReady(), { what: 'connection loss noticed' });
    const second = await postOrder(api);
    expect(await unpublished(api.pool)).toBe(5);
    await proxy.restore();
    await waitFor(async () => (await unpublished(api.pool)) === 0, { what: 'published after reconnect' });

    const counts = await drainQueues();
    const expected = [first, second].flatMap((id) => CHANNELS.map((c) => `${id}:${c}`));
    expect([...counts.keys()].sort()).toEqual(expected.sort());
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    const done = (await api.app.inject({ url: `/orders/${second}` })).json();
    expect(done.status).toBe('processing');
    for (const c of CHANNELS) expect(done.channels[c].state).toBe('published');
  });

  it('a relay in another process picks new rows up on NOTIFY, not by polling', async () => {
    const api = await start({ AMQP_URL: vh.url, RELAY_ENABLED: 'false' });
    await api.broker.waitUntilConnected();
    await clearAll(api.pool);
    // Its poll is out of the picture: only the API's NOTIFY can wake it.
    const other = await relay('listening-relay', { pollIntervalMs: 600_000 });
    await waitFor(() => other.relay.listening, { what: 'listening' });
    const id = await postOrder(api);
    await waitFor(async () => (await unpublished(api.pool)) === 0, { what: 'published without a poll' });
    expect([...(await drainQueues()).keys()].sort()).toEqual(CHANNELS.map((c) => `${id}:${c}`).sort());
  });

  it('two relays running together publish every row exactly once', async () => {
    // One API instance writes orders; two relays (as in two replicas) share its outbox.
    const api = await start({ AMQP_URL: vh.url, RELAY_ENABLED: 'false' });
    await api.broker.waitUntilConnected();
    await clearAll(api.pool);
    const relays = [
      await relay('relay-1', { batchSize: 10, concurrency: 2, pollIntervalMs: 200 }),
      await relay('relay-2', { batchSize: 10, concurrency: 2, pollIntervalMs: 200 }),
    ].map((r) => r.relay);
    const ids: string[] = [];
    for (let round = 0; round < 10; round++) {
      ids.push(...(await Promise.all(Array.from({ length: 20 }, () => postOrder(api)))));
    }
    await waitFor(async () => (await unpublished(api.pool)) === 0, {
      what: 'all rows published',
      timeoutMs: 60_000,
    });

    const counts = await drainQueues();
    expect(counts.size).toBe(ids.length * 5);
    const duplicated = [...counts].filter(([, n]) => n !== 1);
    expect(duplicated).toEqual([]);
    expect(relays.reduce((sum, r) => sum + r.stats.published, 0)).toBe(ids.length * 5);
  });

  it('a crash between publish and mark leads to a redelivery with the same message id, not a loss', async () => {
    const api = await start({ AMQP_URL: vh.url, RELAY_ENABLED: 'false' });
    await api.broker.waitUntilConnected();
    await clearAll(api.pool);
    const id = await postOrder(api);

    // The relay's database session dies right after the broker confirmed the batch and
    // before it is marked published: the transaction is gone, the rows stay unpublished.
    const admin = createPool({ url: db.url, schema: 'order_api', max: 1 });
    cleanups.push(() => admin.end());
    let crashes = 0;
    await relay('crashy-relay', {
      // One worker claims all five rows, so the one crash covers every row; two could
      // split them and the other worker's rows would be published once.
      concurrency: 1,
      initialBackoffMs: 50,
      maxBackoffMs: 200,
      pollIntervalMs: 200,
      wrapPool: (pool) =>
        withClientQueryHook(pool, async (client, text) => {
          if (text.includes('outbox-mark-published') && crashes === 0) {
            crashes++;
            const pid = (client as unknown as { processID: number }).processID;
            await admin.query('SELECT pg_terminate_backend($1)', [pid]);
          }
        }),
    });

    await waitFor(async () => (await unpublished(api.pool)) === 0, { what: 'published after the crash' });
    expect(crashes).toBe(1);
    const counts = await drainQueues();
    expect(Object.fromEntries(counts)).toEqual(Object.fromEntries(CHANNELS.map((c) => [`${id}:${c}`, 2])));
    const order = (await api.app.inject({ url: `/orders/${id}` })).json();
    for (const c of CHANNELS) expect(order.channels[c].state).toBe('published');
  });
});

/** A pool whose clients call `hook(client, sqlText)` before each query. */
function withClientQueryHook(pool: Pool, hook: (client: PoolClient, text: string) => Promise<void>): Pool {
  const wrapClient = (client: PoolClient): PoolClient =>
    new Proxy(client, {
      get(target, prop, receiver) {
        if (prop === 'query') {
          return async (...args: unknown[]) => {
            const config = args[0] as { text?: string } | string;
            await hook(target, typeof config === 'string' ? config : (config?.text ?? ''));
            return (target.query as (...a: unknown[]) => unknown)(...args);
          };
        }
        const value = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  return new Proxy(pool, {
    get(target, prop, receiver) {
      if (prop === 'connect') return async () => wrapClient(await target.connect());
      const value = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
