import { randomUUID } from 'node:crypto';
import { fullTopology } from '@notify/contracts';
import { Broker, Publisher } from '@notify/messaging';
import { createTestVhost, waitFor } from '@notify/messaging/testing';
import type { TestVhost } from '@notify/messaging/testing';
import { createTestDatabase } from '@notify/service-kit/testing';
import type { TestDatabase } from '@notify/service-kit/testing';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOrderApi } from '../server.js';
import { deadLetter } from '../test-support/dead-letter.js';
import type { RunningOrderApi } from '../server.js';

// The park has a cap (PARKED_LETTERS_MAX). A full park must never drop a letter to make
// room: the drain stops, the letters wait in the broker's dead-letter queue, the API says
// so, and parking goes on by itself once replays made room.

const KEY = 'park-cap-key-0123456789abcdef';
const auth = { authorization: `Bearer ${KEY}` };
const CAP = 2;

let vh: TestVhost;
let db: TestDatabase;
let api: RunningOrderApi;
let broker: Broker;
let publisher: Publisher;

beforeAll(async () => {
  [vh, db] = await Promise.all([createTestVhost('park-cap'), createTestDatabase('park_cap')]);
  api = await startOrderApi(
    {
      PORT: '0',
      HOST: '127.0.0.1',
      RATE_LIMIT_MAX: '0',
      AMQP_URL: vh.url,
      DATABASE_URL: db.url,
      API_KEYS: `ops=${KEY}`,
      API_OPERATORS: 'ops',
      STATUS_CONSUMER_ENABLED: 'false',
      PARKED_LETTERS_MAX: String(CAP),
    },
    { logger: pino({ level: 'silent' }), pause: { initialDelayMs: 50, maxDelayMs: 200 } },
  );
  broker = await Broker.connect({ url: vh.url, connectionName: 'park-cap-test', topology: fullTopology() });
  await broker.waitUntilConnected();
  publisher = new Publisher(broker, { timeoutMs: 10_000 });
});

afterAll(async () => {
  await publisher?.close();
  await broker?.close();
  await api?.stop();
  await vh?.delete();
  await db?.drop();
});

async function parkedIds(): Promise<string[]> {
  const { rows } = await api.pool.query<{ message_id: string }>(
    'SELECT message_id FROM parked_letters ORDER BY id',
  );
  return rows.map((r) => r.message_id);
}

describe('a full park', () => {
  it('leaves further dead letters in the broker, says so, and parks them by itself once replays made room', async () => {
    const ids: string[] = [];
    for (let i = 0; i < CAP + 1; i++)
      ids.push(await deadLetter(publisher, 'email', randomUUID(), 'permanent-failure'));

    const degraded = await waitFor(
      async () => {
        const r = await api.ops.inject({ url: '/readyz' });
        const body = r.json<{ status: string; reasons?: Record<string, string> }>();
        return body.reasons?.consumer?.startsWith('park unavailable')
          ? { code: r.statusCode, body }
          : undefined;
      },
      { what: 'readiness naming the full park' },
    );
    // Dead letters are report-only for the API: it still takes orders.
    expect(degraded.code).toBe(200);
    expect(degraded.body.status).toBe('degraded');
    expect(degraded.body.reasons?.consumer).toContain(`PARKED_LETTERS_MAX=${CAP}`);
    expect(await parkedIds()).toEqual(ids.slice(0, CAP));
    // The third is held by the stopped drain, still in the broker: nothing was dropped.
    // (The management API's figures lag a few seconds behind.)
    await waitFor(async () => ((await vh.queue('email.dlq'))?.messages === 1 ? true : undefined), {
      timeoutMs: 30_000,
      what: 'one letter waiting in email.dlq',
    });
    const metrics = (await api.ops.inject({ url: '/metrics' })).body;
    expect(metrics).toMatch(new RegExp(`^parked_letters_limit{service="order-api"} ${CAP}$`, 'm'));

    // An operator replays one letter: there is room again, and the drain goes on by itself.
    const res = await fetch(`${api.url}/dead-letters/email/replay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth },
      body: JSON.stringify({ messageIds: [ids[0]] }),
    });
    expect(res.status).toBe(200);
    await waitFor(async () => ((await parkedIds()).includes(ids[2]!) ? true : undefined), {
      what: 'the held letter parked once there was room',
    });
    expect(await parkedIds()).toEqual(ids.slice(1));
    await waitFor(async () => ((await vh.queue('email.dlq'))?.messages === 0 ? true : undefined), {
      timeoutMs: 30_000,
      what: 'the dead-letter queue drained',
    });
    await waitFor(
      async () => {
        const body = (await api.ops.inject({ url: '/readyz' })).json<{ reasons?: Record<string, string> }>();
        return body.reasons?.consumer ? undefined : true;
      },
      { what: 'readiness without the park reason' },
    );
  });
});
