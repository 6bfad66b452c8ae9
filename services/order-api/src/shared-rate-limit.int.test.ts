import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { createTestVhost, waitFor } from '@notify/messaging/testing';
import type { TestVhost } from '@notify/messaging/testing';
import { createTestDatabase } from '@notify/service-kit/testing';
import type { TestDatabase } from '@notify/service-kit/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Two order API processes (the built service, as a deployment runs it) share one Redis:
// a client's limit holds across both, as it must across Kubernetes replicas.

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const KEY = `shared-limit-${randomUUID()}`;
const LIMIT = 6;
// Each run counts under its own prefix, so runs never see each other's counters.
const PREFIX = `test:order-api:rate-limit:${randomUUID()}:`;

interface ApiProcess {
  readonly url: string;
  readonly opsUrl: string;
  readonly child: ChildProcess;
  readonly output: string[];
}

let vh: TestVhost;
let db: TestDatabase;
let redis: Redis;
const apis: ApiProcess[] = [];

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function startApiProcess(): Promise<ApiProcess> {
  const [port, opsPort] = [await freePort(), await freePort()];
  const output: string[] = [];
  const child = spawn(process.execPath, [MAIN], {
    env: {
      ...process.env,
      NODE_ENV: 'development',
      AMQP_URL: vh.url,
      DATABASE_URL: db.url,
      PORT: String(port),
      OPS_PORT: String(opsPort),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      API_KEYS: `shop=${KEY}`,
      RATE_LIMIT_MAX: String(LIMIT),
      RATE_LIMIT_WINDOW: '10 minutes',
      REDIS_URL,
      RATE_LIMIT_REDIS_PREFIX: PREFIX,
      RELAY_ENABLED: 'false',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d: Buffer) => output.push(d.toString()));
  child.stderr!.on('data', (d: Buffer) => output.push(d.toString()));
  const api = { url: `http://127.0.0.1:${port}`, opsUrl: `http://127.0.0.1:${opsPort}`, child, output };
  apis.push(api);
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`the API exited (${child.exitCode}):\n${output.join('')}`);
      const r = await fetch(`${api.opsUrl}/readyz`).catch(() => null);
      return r?.status === 200;
    },
    { timeoutMs: 90_000, what: 'an API process ready' },
  );
  return api;
}

async function stopApiProcess(api: ApiProcess): Promise<void> {
  if (api.child.exitCode !== null) return;
  const exited = new Promise((resolve) => api.child.once('exit', resolve));
  api.child.kill('SIGTERM');
  await exited;
}

async function keysUnderPrefix(): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 100);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return keys;
}

beforeAll(async () => {
  redis = new Redis(REDIS_URL, {
    lazyConnect: true,
    connectTimeout: 2_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    throw new Error(
      `Redis is not reachable at ${REDIS_URL.replace(/\/\/[^@]*@/, '//')} (${(err as Error).message}): start it or set REDIS_URL (node tools/prerequisites/check.mjs says how)`,
    );
  }
  [vh, db] = await Promise.all([createTestVhost('rate-limit'), createTestDatabase('rate_limit')]);
  // One after the other: the first applies the migrations.
  await startApiProcess();
  await startApiProcess();
}, 240_000);

afterAll(async () => {
  await Promise.all(apis.map(stopApiProcess));
  if (redis?.status === 'ready') {
    const keys = await keysUnderPrefix();
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  } else redis?.disconnect();
  await vh?.delete();
  await db?.drop();
});

describe('the rate limit with REDIS_URL', () => {
  it('holds across two API processes: a client gets its limit once, not once per process', async () => {
    const [a, b] = apis as [ApiProcess, ApiProcess];
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i <= LIMIT; i++) {
      // Alternating: each process alone has seen at most half the requests.
      last = await fetch(`${(i % 2 === 0 ? a : b).url}/orders/${randomUUID()}`, {
        headers: { authorization: `Bearer ${KEY}` },
      });
      statuses.push(last.status);
    }
    expect(statuses).toEqual([...Array<number>(LIMIT).fill(404), 429]);
    expect(last?.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    // The other process refuses too: the count is the shared one.
    const other = await fetch(`${a.url}/orders/${randomUUID()}`, {
      headers: { authorization: `Bearer ${KEY}` },
    });
    expect(other.status).toBe(429);
    // The counter lives in Redis under the configured prefix, and names no key.
    const keys = await keysUnderPrefix();
    expect(keys.length).toBeGreaterThan(0);
    for (const k of keys) expect(k).not.toContain(KEY);
  });
});
