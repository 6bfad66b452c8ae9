// Benchmark of the status loop: how fast the order API folds outcome events into channel
// states, next to the broker's own limit for the same messages.
//
//   cd services/order-api && npx tsx bench/status-events.ts
//
// On a database and vhost of its own (removed afterwards): places BENCH_ORDERS orders,
// preloads nine outcome events per order (the five outcomes, three WhatsApp statuses and
// one retry) into the queue `order-api.events`, then measures in one run
//   1. raw amqplib consume + ack of the same number of messages (prefetch 32),
//   2. the API's status consumer applying them (one locked read + write per event),
// and prints both rates and their ratio. Options (env): BENCH_ORDERS (default 300).
// `--tiny`: five orders, to check that the script still runs (status-events.int.test.ts).

import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { events, fullTopology, ORDER_EVENTS_QUEUE } from '@notify/contracts';
import type { Contract } from '@notify/contracts';
import { Broker, Publisher } from '@notify/messaging';
import { createTestVhost, waitFor } from '@notify/messaging/testing';
import { createTestDatabase } from '@notify/service-kit/testing';
import amqplib from 'amqplib';
import pino from 'pino';
import { startOrderApi } from '../src/server.js';
import { validOrder } from '../src/test-support/order-fixtures.js';

const ORDERS = process.argv.includes('--tiny') ? 5 : Number(process.env.BENCH_ORDERS ?? 300);
const silent = pino({ level: 'silent' });
const SID = (i: number) => `SM${i.toString(16).padStart(32, '0')}`;

function eventsFor(orderId: string, i: number): [Contract, Record<string, unknown>][] {
  const at = new Date().toISOString();
  const base = { orderId, occurredAt: at };
  return [
    [
      events.emailSent,
      { ...base, recipient: 'ada@example.com', smtpMessageId: `<${orderId}@shop>`, locale: 'en-GB' },
    ],
    [events.whatsappSent, { ...base, to: '+447700900123', messageSid: SID(i), status: 'queued' }],
    [events.whatsappStatus, { ...base, messageSid: SID(i), status: 'sent' }],
    [events.whatsappStatus, { ...base, messageSid: SID(i), status: 'delivered' }],
    [events.whatsappStatus, { ...base, messageSid: SID(i), status: 'read' }],
    [
      events.shipmentCreated,
      {
        ...base,
        shipmentId: randomUUID(),
        carrier: 'Royal Mail',
        serviceLevel: 'tracked-48',
        trackingNumber: `RM${i}`,
        estimatedDelivery: '2026-11-26',
        totalWeightGrams: 930,
      },
    ],
    [
      events.paymentAuthorized,
      { ...base, authorizationId: `auth_${i}`, amount: 5248, currency: 'GBP', gateway: 'sim' },
    ],
    [events.fraudAssessed, { ...base, score: 5, decision: 'approve', rules: [] }],
    [
      events.emailSent,
      { ...base, recipient: 'ada@example.com', smtpMessageId: `<${orderId}@shop>`, locale: 'en-GB' },
    ],
  ];
}

async function preload(publisher: Publisher, orderIds: readonly string[]): Promise<number> {
  let n = 0;
  const pending: Promise<void>[] = [];
  for (const [i, id] of orderIds.entries()) {
    for (const [contract, payload] of eventsFor(id, i)) {
      pending.push(
        publisher.publish(contract, payload as never, { messageId: randomUUID(), correlationId: id }),
      );
      n++;
    }
    if (pending.length >= 500) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
  return n;
}

async function queueDepth(url: string): Promise<number> {
  const conn = await amqplib.connect(url);
  const ch = await conn.createChannel();
  const { messageCount } = await ch.checkQueue(ORDER_EVENTS_QUEUE);
  await conn.close();
  return messageCount;
}

async function main() {
  const [vh, db] = await Promise.all([createTestVhost('bench-status'), createTestDatabase('bench_status')]);
  const env = {
    AMQP_URL: vh.url,
    DATABASE_URL: db.url,
    PORT: '0',
    OPS_PORT: '0',
    HOST: '127.0.0.1',
    RATE_LIMIT_MAX: '0',
  };
  const broker = await Broker.connect({ url: vh.url, connectionName: 'bench', topology: fullTopology() });
  const publisher = new Publisher(broker, { timeoutMs: 30_000 });
  try {
    // Orders, with the status consumer off so the events wait in the queue.
    const api = await startOrderApi({ ...env, STATUS_CONSUMER_ENABLED: 'false' }, { logger: silent });
    const ids: string[] = [];
    for (let i = 0; i < ORDERS; i++) {
      const res = await fetch(`${api.url}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(validOrder()),
      });
      ids.push(((await res.json()) as { id: string }).id);
    }
    await api.stop();

    // 1. The broker's limit for these messages: consume + ack, nothing else.
    const total = await preload(publisher, ids);
    const conn = await amqplib.connect(vh.url);
    const ch = await conn.createChannel();
    await ch.prefetch(32);
    let got = 0;
    const rawStart = performance.now();
    const rawDone = new Promise<void>((resolve) => {
      void ch.consume(ORDER_EVENTS_QUEUE, (m) => {
        if (!m) return;
        ch.ack(m);
        if (++got === total) resolve();
      });
    });
    await rawDone;
    const rawSeconds = (performance.now() - rawStart) / 1000;
    // Acks still in flight when the channel closes come back as redeliveries: start clean.
    await ch.close();
    const admin = await conn.createChannel();
    await admin.purgeQueue(ORDER_EVENTS_QUEUE);
    await conn.close();

    // 2. The status consumer applying the same events.
    await preload(publisher, ids);
    await waitFor(
      async () => {
        const depth = await queueDepth(vh.url);
        if (depth > total) throw new Error(`${depth} events in the queue, expected ${total}`);
        return depth === total ? true : undefined;
      },
      { timeoutMs: 60_000, what: 'events preloaded' },
    );
    const start = performance.now();
    const consumerApi = await startOrderApi({ ...env, RELAY_ENABLED: 'false' }, { logger: silent });
    await waitFor(
      async () => {
        const text = (await consumerApi.ops.inject({ url: '/metrics' })).body;
        const m = /messages_processed_total\{[^}]*outcome="ack"[^}]*\} (\d+)/.exec(text);
        return Number(m?.[1] ?? 0) >= total ? true : undefined;
      },
      { timeoutMs: 600_000, intervalMs: 50, what: 'every event applied' },
    );
    const seconds = (performance.now() - start) / 1000;
    const check = await consumerApi.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM notification_states WHERE state = 'succeeded'`,
    );
    await consumerApi.stop();

    const raw = total / rawSeconds;
    const applied = total / seconds;
    console.log(`status loop, ${ORDERS} orders, ${total} events, load ${os.loadavg()[0]?.toFixed(1)}`);
    console.log(`  raw consume+ack           ${raw.toFixed(0).padStart(7)} msg/s`);
    console.log(`  status consumer (applied) ${applied.toFixed(0).padStart(7)} events/s (incl. API start)`);
    console.log(`  ratio                     ${(applied / raw).toFixed(2)}`);
    console.log(`  channels succeeded        ${check.rows[0]?.n} of ${ORDERS * 5}`);
  } finally {
    await publisher.close();
    await broker.close();
    await vh.delete();
    await db.drop();
  }
}

await main();
