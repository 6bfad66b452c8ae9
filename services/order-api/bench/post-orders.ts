// Benchmark of POST /orders against the real PostgreSQL and RabbitMQ of this machine.
//
//   npx turbo run build --filter=@notify/order-api && \
//     (cd services/order-api && npx tsx bench/post-orders.ts)
//
// Starts the built API (dist/main.js) as a child process on a database and vhost of its
// own (both removed afterwards), then measures in one run:
//   1. the broker's limit: raw amqplib publishing the same five persistent messages per
//      order on a confirm channel (mandatory, like the relay),
//   2. the highest closed-loop order rate with zero errors, and the end-to-end rate
//      (until the relay has every message confirmed),
//   3. p50/p99 latency at a fixed rate of half that maximum (autocannon corrects for
//      coordinated omission), and the time from each 201 until all five messages of
//      that order were confirmed by the broker and marked published.
// Options (env): BENCH_SECONDS (default 8), BENCH_CONNECTIONS (default "16,48"),
// BENCH_LOG_LEVEL (API log level, default "info"), BENCH_CPU_PROF=<dir> (profile the API
// process with node --cpu-prof; open the .cpuprofile in Chrome DevTools).
// `--tiny`: one second per phase and a few connections, to check that the script still
// runs (what `npm test` does, post-orders.int.test.ts); its figures mean nothing.
// The API runs as production does (NODE_ENV=production), so with the secrets production
// requires, generated for the run: an API key that every request carries and the
// unsubscribe links' signing secret.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { CHANNELS, fullTopology, notifications } from '@notify/contracts';
import { Broker } from '@notify/messaging';
import { createTestVhost, rawConfirmedPublish, waitFor } from '@notify/messaging/testing';
import { createPool } from '@notify/service-kit';
import { createTestDatabase } from '@notify/service-kit/testing';
import amqplib from 'amqplib';
import autocannon from 'autocannon';
import { buildOutboxMessages } from '../src/domain/order-messages.js';
import { priceOrder } from '../src/domain/pricing.js';
import { validOrder } from '../src/test-support/order-fixtures.js';

const TINY = process.argv.includes('--tiny');
const SECONDS = TINY ? 1 : Number(process.env.BENCH_SECONDS ?? 8);
const CONNECTIONS = (TINY ? '4' : (process.env.BENCH_CONNECTIONS ?? '16,48')).split(',').map(Number);
const FIXED_CONNECTIONS = TINY ? 4 : 32;
/** The API's key for this run: production refuses to start without one. */
const API_KEY = randomBytes(24).toString('base64url');
const LOG_LEVEL = process.env.BENCH_LOG_LEVEL ?? 'info';
const root = fileURLToPath(new URL('..', import.meta.url));
const mainJs = `${root}dist/main.js`;

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}
const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

/** CPU seconds (user + system) a process has used, from /proc (Linux). */
function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** Raw amqplib: five persistent, mandatory messages per order on a confirm channel. */
async function rawBrokerLimit(url: string, seconds: number) {
  const input = validOrder();
  const sample = buildOutboxMessages({
    id: '3f2c1a9e-7b4d-4c8e-9f1a-2b3c4d5e6f70',
    client: 'bench',
    reference: 'ORD-3F2C1A9E7B4D',
    placedAt: new Date().toISOString(),
    currency: input.currency,
    customer: input.customer,
    totals: priceOrder(input.currency, input.items),
    shippingAddress: input.shippingAddress,
    billingAddress: input.billingAddress,
    paymentMethodToken: input.paymentMethodToken,
    metadata: { ip: '203.0.113.7' },
  });
  const result = await rawConfirmedPublish(
    url,
    sample.map((m) => ({
      exchange: notifications[m.channel].exchange,
      routingKey: m.routingKey,
      content: Buffer.from(JSON.stringify(m.payload)),
      properties: {
        type: m.contractType,
        contentType: 'application/json',
        timestamp: Math.floor(Date.now() / 1000),
        appId: 'bench-raw',
      },
    })),
    { seconds },
  );
  const conn = await amqplib.connect(url);
  const ch = await conn.createChannel();
  for (const c of CHANNELS) await ch.purgeQueue(c);
  await conn.close();
  return result;
}

interface LoadResult {
  ordersPerSecond: number;
  total: number;
  errors: number;
  non2xx: number;
  p50: number;
  p99: number;
  accepted: Map<string, number>;
}

async function load(url: string, options: { connections: number; seconds: number; rate?: number }) {
  const accepted = new Map<string, number>();
  const body = JSON.stringify(validOrder());
  const result = await autocannon({
    url,
    connections: options.connections,
    duration: options.seconds,
    ...(options.rate ? { overallRate: options.rate } : {}),
    requests: [
      {
        method: 'POST',
        path: '/orders',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` },
        body,
        onResponse: (status: number, responseBody: string) => {
          if (status !== 201) return;
          // Wall-clock time of the 201, comparable with the database's published_at.
          const at = performance.timeOrigin + performance.now();
          accepted.set((JSON.parse(responseBody) as { id: string }).id, at);
        },
      },
    ],
  });
  return {
    ordersPerSecond: result['2xx'] / options.seconds,
    total: result['2xx'],
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    p50: result.latency.p50,
    p99: result.latency.p99,
    accepted,
  } satisfies LoadResult;
}

async function main() {
  if (!existsSync(mainJs)) {
    console.error('build first: npx turbo run build --filter=@notify/order-api');
    process.exit(1);
  }
  const [vh, db] = await Promise.all([
    createTestVhost('bench-order-api'),
    createTestDatabase('bench_order_api'),
  ]);
  const port = await freePort();
  const opsPort = await freePort();
  const pool = createPool({ url: db.url, schema: 'order_api', max: 2 });
  let child: ChildProcess | undefined;
  try {
    // In production the topology comes from the broker's definitions and the API only
    // verifies it (TOPOLOGY=verify): declare it here, as the definitions would.
    const declarer = await Broker.connect({
      url: vh.url,
      connectionName: 'bench-topology',
      topology: fullTopology(),
    });
    await declarer.waitUntilConnected();
    await declarer.close();
    const profileDir = process.env.BENCH_CPU_PROF;
    const nodeArgs = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
    child = spawn(process.execPath, [...nodeArgs, mainJs], {
      cwd: root,
      env: {
        ...process.env,
        AMQP_URL: vh.url,
        DATABASE_URL: db.url,
        PORT: String(port),
        OPS_PORT: String(opsPort),
        HOST: '127.0.0.1',
        LOG_LEVEL,
        RATE_LIMIT_MAX: '0',
        NODE_ENV: 'production',
        API_KEYS: API_KEY,
        UNSUBSCRIBE_SECRET: randomBytes(32).toString('base64url'),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    // The API's log stays out of the figures, but its last lines explain a failed start.
    const recent: string[] = [];
    child.stdout!.on('data', (d: Buffer) => {
      recent.push(d.toString());
      if (recent.length > 20) recent.shift();
    });
    const base = `http://127.0.0.1:${port}`;
    const exitedEarly = new Promise<never>((_, reject) =>
      child!.once('exit', (code, signal) =>
        reject(new Error(`the API exited (${code ?? signal}) before it was ready:\n${recent.join('')}`)),
      ),
    );
    exitedEarly.catch(() => undefined);
    await Promise.race([
      exitedEarly,
      waitFor(
        async () => {
          const r = await fetch(`http://127.0.0.1:${opsPort}/readyz`);
          return r.ok && ((await r.json()) as { status: string }).status === 'ready';
        },
        { timeoutMs: 60_000, what: 'API ready' },
      ),
    ]).catch((err: unknown) => {
      throw new Error(`${String(err)}\nthe API's last lines:\n${recent.join('')}`);
    });
    const backlog = async () =>
      (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL'))
        .rows[0]?.n ?? 0;
    const drained = () =>
      waitFor(async () => (await backlog()) === 0, { timeoutMs: 120_000, what: 'outbox drained' });

    // Warm-up: JIT, prepared statements, channels.
    await load(base, { connections: TINY ? 2 : 8, seconds: TINY ? 1 : 2 });
    await drained();

    const raw = await rawBrokerLimit(vh.url, TINY ? 1 : 5);
    const rawClientCpuPerOrder = raw.clientCpuMsPerMessage * CHANNELS.length;
    const rawOrders = raw.messagesPerSecond / CHANNELS.length;

    // CPU spent per order by the API process and by the PostgreSQL sessions of its
    // database: unlike rates, this does not depend on what else the machine is doing.
    const backends = async () =>
      (
        await pool.query<{ pid: number }>(
          'SELECT pid FROM pg_stat_activity WHERE datname = current_database()',
        )
      ).rows.map((r) => r.pid);
    const cpu = async () => {
      const pids = await backends();
      return {
        api: cpuSeconds(child!.pid!),
        pg: new Map(pids.map((pid) => [pid, cpuSeconds(pid)])),
      };
    };
    const cpuPerOrder: { api: number; pg: number }[] = [];
    let best: (LoadResult & { endToEnd: number; connections: number }) | undefined;
    for (const connections of CONNECTIONS) {
      const started = performance.now();
      const before = await cpu();
      const r = await load(base, { connections, seconds: SECONDS });
      await drained();
      const after = await cpu();
      let pgSeconds = 0;
      for (const [pid, t] of after.pg) pgSeconds += t - (before.pg.get(pid) ?? t);
      cpuPerOrder.push({
        api: ((after.api - before.api) * 1000) / r.total,
        pg: (pgSeconds * 1000) / r.total,
      });
      const endToEnd = r.total / ((performance.now() - started) / 1000);
      console.log(
        `closed loop c=${connections}: ${fmt(r.ordersPerSecond)} orders/s accepted, ${fmt(endToEnd)} orders/s ` +
          `published end to end, errors ${r.errors}, non-2xx ${r.non2xx}, p50 ${r.p50} ms, p99 ${r.p99} ms`,
      );
      if (r.errors === 0 && r.non2xx === 0 && (!best || endToEnd > best.endToEnd)) {
        best = { ...r, endToEnd, connections };
      }
    }
    if (!best) throw new Error('no run without errors');
    const sustained = Math.min(best.ordersPerSecond, best.endToEnd);

    const rate = Math.max(1, Math.floor(sustained / 2));
    const fixed = await load(base, { connections: FIXED_CONNECTIONS, seconds: SECONDS, rate });
    await drained();
    const ids = [...fixed.accepted.keys()];
    const { rows } = await pool.query<{ order_id: string; confirmed_ms: number }>(
      `SELECT order_id, EXTRACT(EPOCH FROM max(published_at)) * 1000 AS confirmed_ms
       FROM outbox WHERE order_id = ANY($1::uuid[]) GROUP BY order_id HAVING count(*) = 5`,
      [ids],
    );
    const lags = rows
      .map((r) => Number(r.confirmed_ms) - (fixed.accepted.get(r.order_id) ?? NaN))
      .sort((a, b) => a - b);
    const beforeResponse = lags.filter((l) => l < 0).length;

    const rows2 = [
      [
        'broker limit (raw amqplib, 5 confirmed persistent msgs/order)',
        `${fmt(rawOrders)} orders/s (${fmt(raw.messagesPerSecond)} msgs/s)`,
      ],
      [
        `max sustained, zero errors (c=${best.connections})`,
        `${fmt(sustained)} orders/s (${fmt((100 * sustained) / rawOrders)}% of broker limit; target >= 50%)`,
      ],
      [
        `fixed rate ${rate}/s: latency p50 / p99`,
        `${fmt(fixed.p50)} / ${fmt(fixed.p99)} ms (target p99 < 25 ms), errors ${fixed.errors + fixed.non2xx}`,
      ],
      [
        '201 -> all 5 confirmed: p50 / p99 / max',
        `${fmt(percentile(lags, 50))} / ${fmt(percentile(lags, 99))} / ${fmt(lags.at(-1) ?? NaN)} ms over ${lags.length} orders (target p99 < 50 ms)`,
      ],
      ['orders fully confirmed before their 201 arrived', `${beforeResponse}`],
      [
        'CPU per order: API process / its PostgreSQL sessions',
        cpuPerOrder.map((c) => `${fmt(c.api, 2)} / ${fmt(c.pg, 2)} ms`).join(', ') +
          ` (raw amqplib client: ${fmt(rawClientCpuPerOrder, 2)} ms)`,
      ],
      [
        'machine',
        `${os.cpus().length} CPUs, load average ${os
          .loadavg()
          .map((l) => l.toFixed(1))
          .join(' ')}`,
      ],
    ];
    const width = Math.max(...rows2.map((r) => r[0]!.length));
    console.log('\nOrder API benchmark');
    for (const [k, v] of rows2) console.log(`  ${k!.padEnd(width)}  ${v}`);
  } finally {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await pool.end();
    await vh.delete();
    await db.drop();
  }
}

await main();
