// How fast each consumer service drains a backlog, next to raw amqplib consume+ack on the
// same queue and backlog size, in the same run; its figures are in docs/benchmarks.md.
//
//   npx tsx tools/system/bench/drain-backlog.ts [--orders 10000] [--together] [--node <binary>]
//
// Services run as processes from their built output (build first:
// npx turbo run build --filter=@notify/system...), against their own vhost and database,
// with the mail catcher and the WhatsApp sandbox in this process answering at once.
import { randomUUID } from 'node:crypto';
import { loadavg, cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { CHANNELS, exampleMessages, fullTopology, notifications } from '@notify/contracts';
import type { Channel, Contract } from '@notify/contracts';
import { startMailCatcher } from '@notify/mail-catcher';
import { Broker, Publisher } from '@notify/messaging';
import { createTestVhost } from '@notify/messaging/testing';
import { createTestDatabase } from '@notify/service-kit/testing';
import { startWhatsappSandbox } from '@notify/whatsapp-sandbox';
import amqplib from 'amqplib';
import { freePortsFor } from '../src/tcp-ports.js';
import { standInUrls, startStack } from '../src/stack.js';
import type { Stack } from '../src/stack.js';
import { counterValue } from '../src/test-support/local-system.js';

const { values: args } = parseArgs({
  options: {
    orders: { type: 'string', default: '10000' },
    together: { type: 'boolean', default: false },
    'max-drain-seconds': { type: 'string', default: '600' },
    // A Node binary (or wrapper script) to run the services with, e.g. one adding --cpu-prof.
    node: { type: 'string' },
  },
});
const ORDERS = Number(args.orders);
const MAX_DRAIN_MS = Number(args['max-drain-seconds']) * 1000;

function log(line: string) {
  process.stdout.write(`${line}\n`);
}

/** One order's five messages, built from the contract examples with a fresh order id. */
function orderMessages(i: number): { channel: Channel; orderId: string; payload: unknown }[] {
  const orderId = randomUUID();
  // Distinct customers, so fraud's velocity history looks like a shop's, not one person's.
  const email = `customer.${i}@example.com`;
  const phone = `+4477009${String(i % 100_000).padStart(5, '0')}`;
  // One IP for every order would serialise fraud's per-key locks: a single shopper, not a shop.
  const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  const e = exampleMessages;
  const payloads: Record<Channel, unknown> = {
    email: { ...e.email, orderId, recipient: { ...e.email.recipient, email } },
    whatsapp: { ...e.whatsapp, orderId, to: phone },
    logistic: { ...e.logistic, orderId, recipient: { ...e.logistic.recipient, email, phone } },
    payment: { ...e.payment, orderId, customer: { ...e.payment.customer, email } },
    fraud: {
      ...e.fraud,
      orderId,
      customer: { ...e.fraud.customer, email, phone },
      metadata: { ...e.fraud.metadata, ip },
    },
  };
  return CHANNELS.map((channel) => ({ channel, orderId, payload: payloads[channel] }));
}

/** Publishes ORDERS orders' messages for the given channels, confirmed, many in flight. */
async function publishBacklog(publisher: Publisher, channels: readonly Channel[]): Promise<number> {
  const started = Date.now();
  const inFlight = new Set<Promise<void>>();
  let published = 0;
  for (let i = 0; i < ORDERS; i++) {
    for (const m of orderMessages(i)) {
      if (!channels.includes(m.channel)) continue;
      const contract: Contract = notifications[m.channel];
      const p = publisher
        .publish(contract, m.payload as never, {
          messageId: `${m.orderId}:${m.channel}`,
          correlationId: m.orderId,
        })
        .then(() => {
          published++;
          inFlight.delete(p);
        });
      inFlight.add(p);
      if (inFlight.size >= 512) await Promise.race(inFlight);
    }
  }
  await Promise.all(inFlight);
  const seconds = (Date.now() - started) / 1000;
  log(`  published ${published} messages in ${seconds.toFixed(1)} s (${Math.round(published / seconds)}/s)`);
  return published;
}

async function queueDepth(ch: amqplib.Channel, queue: string): Promise<number> {
  return (await ch.checkQueue(queue)).messageCount;
}

async function processed(stack: Stack, channel: Channel): Promise<number> {
  const r = await fetch(`${stack.get(channel).opsUrl}/metrics`, { signal: AbortSignal.timeout(5_000) });
  const text = await r.text();
  const count = (outcome: string) =>
    counterValue(text, 'messages_processed_total', { queue: channel, outcome });
  return count('ack') + count('duplicate') + count('dead-letter');
}

interface Drain {
  readonly messages: number;
  readonly seconds: number;
  readonly rate: number;
}

/**
 * Polls the services' counters until each has settled `expected` messages. The clock starts
 * when the services report ready; what they settled before that is subtracted.
 */
async function measureServices(stack: Stack, channels: readonly Channel[], expected: number) {
  const t0 = Date.now();
  const before = new Map<Channel, number>();
  for (const channel of channels) before.set(channel, await processed(stack, channel));
  const done = new Map<Channel, Drain>();
  const deadline = Date.now() + MAX_DRAIN_MS;
  while (done.size < channels.length) {
    if (Date.now() > deadline) throw new Error(`not drained after ${MAX_DRAIN_MS / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
    for (const channel of channels) {
      if (done.has(channel)) continue;
      const n = await processed(stack, channel);
      if (n >= expected) {
        const seconds = (Date.now() - t0) / 1000;
        const measured = n - before.get(channel)!;
        done.set(channel, { messages: measured, seconds, rate: measured / seconds });
        log(`  ${channel.padEnd(8)} drained ${n} (${measured} timed) in ${seconds.toFixed(1)} s`);
      }
    }
  }
  return done;
}

/** Raw amqplib: consume and ack, nothing else, with the service's prefetch. */
async function rawDrain(url: string, queue: string, prefetch: number, expected: number): Promise<Drain> {
  const conn = await amqplib.connect(url);
  try {
    const ch = await conn.createChannel();
    await ch.prefetch(prefetch);
    const t0 = Date.now();
    let n = 0;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`raw ${queue} not drained`)), MAX_DRAIN_MS);
      void ch.consume(queue, (msg) => {
        if (!msg) return;
        ch.ack(msg);
        if (++n >= expected) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const seconds = (Date.now() - t0) / 1000;
    await ch.close();
    return { messages: n, seconds, rate: n / seconds };
  } finally {
    await conn.close();
  }
}

async function main() {
  const load = loadavg()[0]!;
  log(`drain-backlog: ${ORDERS} orders, ${cpus().length} CPUs, load average ${load.toFixed(2)}`);
  if (load > cpus().length) log('  warning: the machine is busy; figures will be low and noisy');

  const vhost = await createTestVhost('bench-drain');
  const database = await createTestDatabase('bench_drain');
  const mail = await startMailCatcher({ maxMessages: 100 });
  const sandbox = await startWhatsappSandbox({ maxMessages: 100 });
  // Instant stand-ins: no SMTP or API delay, and no status callbacks competing with the
  // consumer for the whatsapp service's CPU (the drain is what is measured).
  sandbox.setBehaviour({ callbacks: false });
  const broker = await Broker.connect({
    url: vhost.url,
    connectionName: 'bench-drain',
    topology: fullTopology(),
  });
  const publisher = new Publisher(broker, { timeoutMs: 60_000 });
  const admin = await amqplib.connect(vhost.url);
  const adminCh = await admin.createChannel();
  const ports = await freePortsFor(CHANNELS);
  const prefetch = new Map<Channel, number>();
  const stackOptions = (services: readonly Channel[]) => ({
    amqpUrl: vhost.url,
    databaseUrl: database.url,
    ...standInUrls(mail, sandbox),
    services,
    ...(args.node ? { node: args.node } : {}),
    ports,
    // Production's level: one info line per message is part of what a service costs.
    env: { LOG_LEVEL: 'info', PAYMENT_SIMULATOR_LATENCY_MS: '0' },
    onLine: (service: string, line: string) => {
      if (line.includes('"msg":"consuming"')) {
        const m = /"prefetch":(\d+)/.exec(line);
        if (m) prefetch.set(service as Channel, Number(m[1]));
      }
    },
  });

  const services = new Map<Channel, Drain>();
  const raw = new Map<Channel, Drain>();
  let together: Map<Channel, Drain> | undefined;
  try {
    // Migrations once, before any clock runs: the first start of each service creates its schema.
    log('preparing: schemas and topology');
    const warm = await startStack(stackOptions(CHANNELS));
    await warm.stop();

    log(`backlog: ${ORDERS} orders' messages on the five queues, consumers stopped`);
    await publishBacklog(publisher, CHANNELS);
    for (const c of CHANNELS) log(`  ${c.padEnd(8)} ${await queueDepth(adminCh, c)} messages waiting`);

    log('services, one at a time (each alone on the machine, as the raw consumer is):');
    for (const channel of CHANNELS) {
      const stack = await startStack(stackOptions([channel]));
      try {
        const r = await measureServices(stack, [channel], ORDERS);
        services.set(channel, r.get(channel)!);
      } finally {
        await stack.stop();
      }
    }

    log('raw amqplib consume+ack, same backlog per queue:');
    await publishBacklog(publisher, CHANNELS);
    for (const channel of CHANNELS) {
      const r = await rawDrain(vhost.url, channel, prefetch.get(channel) ?? 16, ORDERS);
      raw.set(channel, r);
      log(
        `  ${channel.padEnd(8)} drained ${r.messages} in ${r.seconds.toFixed(1)} s (prefetch ${prefetch.get(channel) ?? 16})`,
      );
    }

    if (args.together) {
      log('all five services at once on a fresh backlog (they share the CPUs):');
      await publishBacklog(publisher, CHANNELS);
      const stack = await startStack(stackOptions(CHANNELS));
      try {
        together = await measureServices(stack, CHANNELS, ORDERS);
      } finally {
        await stack.stop();
      }
    }
  } finally {
    await adminCh.close().catch(() => undefined);
    await admin.close().catch(() => undefined);
    await publisher.close();
    await broker.close();
    await mail.close();
    await sandbox.close();
    await vhost.delete();
    await database.drop();
  }

  log('');
  log(
    `| service  | msgs/s | raw msgs/s | ratio | target 40% |${together ? ' all five at once, msgs/s |' : ''}`,
  );
  log(
    `| -------- | -----: | ---------: | ----: | :--------: |${together ? ' ----------------------: |' : ''}`,
  );
  for (const channel of CHANNELS) {
    const s = services.get(channel)!;
    const r = raw.get(channel)!;
    const ratio = s.rate / r.rate;
    const t = together?.get(channel);
    log(
      `| ${channel.padEnd(8)} | ${Math.round(s.rate).toString().padStart(6)} | ${Math.round(r.rate).toString().padStart(10)} | ${(ratio * 100).toFixed(0).padStart(4)}% | ${ratio >= 0.4 ? 'met' : 'missed'} |${t ? ` ${Math.round(t.rate).toString().padStart(23)} |` : ''}`,
    );
  }
  log(`load average at the end: ${loadavg()[0]!.toFixed(2)}`);
}

await main();
