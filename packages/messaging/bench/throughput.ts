// Publish and consume throughput of @notify/messaging next to raw amqplib, in one run
// against the same broker, so the package's overhead reads as a ratio.
//
//   npx tsx packages/messaging/bench/throughput.ts [messages] [window]
//   npx tsx packages/messaging/bench/throughput.ts --tiny   (100 messages: checks it runs)
//
// Each side publishes N persistent messages spread over the five channel queues with
// publisher confirms (at most `window` unconfirmed at a time), then consumes them all
// with manual acks (prefetch 100). The package side validates every message against
// its contract on both ends, as production does.
import { randomUUID } from 'node:crypto';
import { CHANNELS, exampleMessages, EXCHANGES, fullTopology, notifications } from '@notify/contracts';
import amqplib from 'amqplib';
import { Broker, childTraceparent } from '../src/index.js';
import { packageConsume, packagePublish, pool } from './package-side.js';
import { createTestVhost } from '../src/testing/index.js';

const TINY = process.argv.includes('--tiny');
const N = TINY ? 100 : Number(process.argv[2] ?? 20_000);
const WINDOW = TINY ? 16 : Number(process.argv[3] ?? 256);

async function purge(url: string) {
  const c = await amqplib.connect(url);
  const ch = await c.createChannel();
  for (const q of fullTopology().queues) await ch.purgeQueue(q.name).catch(() => undefined);
  await c.close();
}

async function rawPublish(url: string): Promise<number> {
  const conn = await amqplib.connect(url);
  const ch = await conn.createConfirmChannel();
  const t0 = performance.now();
  await pool(N, WINDOW, (i) => {
    const c = CHANNELS[i % CHANNELS.length]!;
    // The same message a careful hand-written publisher sends: serialised per message,
    // with the AMQP properties ARCHITECTURE.md requires, confirmed by the broker.
    return new Promise<void>((resolve, reject) => {
      ch.publish(
        EXCHANGES.notification.name,
        c,
        Buffer.from(JSON.stringify(exampleMessages[c])),
        {
          persistent: true,
          mandatory: true,
          messageId: randomUUID(),
          correlationId: exampleMessages[c].orderId,
          type: notifications[c].type,
          contentType: 'application/json',
          timestamp: Math.floor(Date.now() / 1000),
          appId: 'bench-raw',
          headers: { traceparent: childTraceparent() },
        },
        (err) => (err ? reject(err) : resolve()),
      );
    });
  });
  const secs = (performance.now() - t0) / 1000;
  await conn.close();
  return N / secs;
}

async function rawConsume(url: string): Promise<number> {
  const conn = await amqplib.connect(url);
  const ch = await conn.createChannel();
  await ch.prefetch(100);
  let count = 0;
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    for (const c of CHANNELS) {
      void ch.consume(c, (m) => {
        if (!m) return;
        ch.ack(m);
        if (++count === N) resolve();
      });
    }
  });
  const secs = (performance.now() - t0) / 1000;
  await conn.close();
  return N / secs;
}

const vh = await createTestVhost('bench');
try {
  // Declare the topology once.
  const b = await Broker.connect({ url: vh.url, connectionName: 'bench-setup', topology: fullTopology() });
  await b.waitUntilConnected();
  await b.close();
  await purge(vh.url);

  // Alternate the order so neither side always runs on a warmer broker.
  const rawPub1 = await rawPublish(vh.url);
  const rawCon1 = await rawConsume(vh.url);
  const pkgPub1 = await packagePublish(vh.url, N, WINDOW);
  const pkgCon1 = await packageConsume(vh.url, N);
  const pkgPub2 = await packagePublish(vh.url, N, WINDOW);
  const pkgCon2 = await packageConsume(vh.url, N);
  const rawPub2 = await rawPublish(vh.url);
  const rawCon2 = await rawConsume(vh.url);

  const rawPub = (rawPub1 + rawPub2) / 2;
  const rawCon = (rawCon1 + rawCon2) / 2;
  const pkgPub = (pkgPub1 + pkgPub2) / 2;
  const pkgCon = (pkgCon1 + pkgCon2) / 2;
  const f = (n: number) => n.toFixed(0).padStart(8);
  console.log(`messages=${N} window=${WINDOW} node=${process.version}`);
  console.log('direction           raw amqplib  @notify/messaging  ratio');
  console.log(`publish (confirmed) ${f(rawPub)}/s   ${f(pkgPub)}/s        ${(pkgPub / rawPub).toFixed(2)}`);
  console.log(`consume + ack       ${f(rawCon)}/s   ${f(pkgCon)}/s        ${(pkgCon / rawCon).toFixed(2)}`);
} finally {
  await vh.delete();
}
