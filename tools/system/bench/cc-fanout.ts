// Single-publish fan-out (RabbitMQ's `CC` header) next to what the relay does today (five
// messages per order, one per channel), in one run against the same broker and queues.
//
//   npx turbo run build --filter=@notify/system...
//   npx tsx tools/system/bench/cc-fanout.ts [--orders 5000] [--window 256] [--tiny]
//
// Both sides publish persistent, mandatory messages on a confirm channel to the real
// `notification` exchange and its five quorum queues, at most `window` unconfirmed:
// - five: the five contract messages of an order, each to its channel's routing key
//   (what the outbox relay publishes);
// - cc: one message per order whose body holds all five payloads, routed to the first
//   channel with the other four in the `CC` header, so the broker copies it to all five.
// Rounds run five, cc, cc, five (after an uncounted warm-up of each); figures are the
// means. It prints orders/s, this process's CPU per order and, when it can find the
// broker's OS process (`rabbitmqctl status`), the broker's CPU per order.
//
// Its own vhost (removed afterwards). What the figures mean for the design:
// docs/benchmarks.md, "Single-publish fan-out".
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { CHANNELS, EXCHANGES, exampleMessages, fullTopology, notifications } from '@notify/contracts';
import { Broker } from '@notify/messaging';
import { createTestVhost } from '@notify/messaging/testing';
import amqplib from 'amqplib';
import type { ConfirmChannel, Options } from 'amqplib';
import { wholeNumber } from './bench-args.js';
import { cpuMs } from './proc-stats.js';

const { values: args } = parseArgs({
  options: {
    orders: { type: 'string', default: '5000' },
    window: { type: 'string', default: '256' },
    tiny: { type: 'boolean', default: false },
  },
});
const TINY = args.tiny;
const ORDERS = TINY ? 20 : wholeNumber('orders', args.orders);
const WINDOW = TINY ? 8 : wholeNumber('window', args.window);

/** The broker's OS process, when `rabbitmqctl status` can tell (it needs the node's cookie). */
function brokerPid(): number | undefined {
  try {
    const out = execFileSync('rabbitmqctl', ['status', '--formatter', 'json'], {
      encoding: 'utf8',
      timeout: 20_000,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const pid = Number((JSON.parse(out) as { pid?: unknown }).pid);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function properties(orderId: string, type: string): Options.Publish {
  return {
    persistent: true,
    mandatory: true,
    messageId: randomUUID(),
    correlationId: orderId,
    type,
    contentType: 'application/json',
    timestamp: Math.floor(Date.now() / 1000),
    appId: 'bench-cc',
  };
}

function confirmed(ch: ConfirmChannel, routingKey: string, body: Buffer, props: Options.Publish) {
  return new Promise<void>((resolve, reject) => {
    ch.publish(EXCHANGES.notification.name, routingKey, body, props, (err) =>
      err ? reject(err) : resolve(),
    );
  });
}

type Side = 'five' | 'cc';

/** Publishes ORDERS orders one way; each order's publishes count against the window. */
async function publishOrders(ch: ConfirmChannel, side: Side, orders: number): Promise<void> {
  let inFlight = 0;
  let wake: (() => void) | undefined;
  const pending: Promise<void>[] = [];
  const track = (p: Promise<void>) => {
    inFlight++;
    const settled = p.finally(() => {
      inFlight--;
      wake?.();
    });
    pending.push(settled);
  };
  for (let i = 0; i < orders; i++) {
    const orderId = randomUUID();
    if (side === 'five') {
      for (const c of CHANNELS) {
        const body = Buffer.from(JSON.stringify({ ...exampleMessages[c], orderId }));
        track(confirmed(ch, c, body, properties(orderId, notifications[c].type)));
      }
    } else {
      const all = Object.fromEntries(CHANNELS.map((c) => [c, { ...exampleMessages[c], orderId }]));
      const [first, ...others] = CHANNELS;
      const props = { ...properties(orderId, 'order.notifications.v1'), CC: others };
      track(confirmed(ch, first!, Buffer.from(JSON.stringify(all)), props));
    }
    while (inFlight >= WINDOW) await new Promise<void>((r) => (wake = r));
  }
  await Promise.all(pending);
}

interface Round {
  readonly ordersPerSecond: number;
  readonly clientMsPerOrder: number;
  readonly brokerMsPerOrder: number;
}

async function main() {
  const vhost = await createTestVhost('bench-cc');
  try {
    const declarer = await Broker.connect({
      url: vhost.url,
      connectionName: 'bench-cc-topology',
      topology: fullTopology(),
    });
    await declarer.waitUntilConnected();
    await declarer.close();
    const conn = await amqplib.connect(vhost.url);
    const ch = await conn.createConfirmChannel();
    let returned = 0;
    ch.on('return', () => returned++);
    const pid = brokerPid();
    const purge = async () => {
      for (const c of CHANNELS) await ch.purgeQueue(c);
    };
    const round = async (side: Side, orders: number): Promise<Round> => {
      const client0 = process.cpuUsage();
      const broker0 = pid ? cpuMs(pid) : NaN;
      const t0 = performance.now();
      await publishOrders(ch, side, orders);
      const seconds = (performance.now() - t0) / 1000;
      const client = process.cpuUsage(client0);
      const brokerMs = pid ? cpuMs(pid) - broker0 : NaN;
      // Every queue got one copy per order, whichever way it was sent.
      for (const c of CHANNELS) {
        const { messageCount } = await ch.checkQueue(c);
        if (messageCount !== orders)
          throw new Error(`${side}: queue ${c} holds ${messageCount}, expected ${orders}`);
      }
      await purge();
      return {
        ordersPerSecond: orders / seconds,
        clientMsPerOrder: (client.user + client.system) / 1000 / orders,
        brokerMsPerOrder: brokerMs / orders,
      };
    };
    console.log(
      `cc-fanout${TINY ? ' (tiny: checks that it runs, figures mean nothing)' : ''}: orders=${ORDERS} window=${WINDOW}` +
        `, broker CPU ${pid ? `from OS process ${pid}` : 'not read (rabbitmqctl status unavailable)'}`,
    );
    await purge();
    await round('five', Math.min(ORDERS, 500));
    await round('cc', Math.min(ORDERS, 500));
    const rounds = { five: [] as Round[], cc: [] as Round[] };
    for (const side of ['five', 'cc', 'cc', 'five'] as const) rounds[side].push(await round(side, ORDERS));
    if (returned > 0) throw new Error(`${returned} messages came back unroutable`);
    await conn.close();
    const mean = (rs: Round[], k: keyof Round) => rs.reduce((s, r) => s + r[k], 0) / rs.length;
    const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
    console.log('');
    console.log('| per order | five messages | one message + CC | cc / five |');
    console.log('| --------- | ------------: | ---------------: | --------: |');
    for (const [label, key, digits] of [
      ['orders/s (confirmed)', 'ordersPerSecond', 0],
      ['client CPU, ms', 'clientMsPerOrder', 3],
      ['broker CPU, ms', 'brokerMsPerOrder', 3],
    ] as const) {
      const five = mean(rounds.five, key);
      const cc = mean(rounds.cc, key);
      console.log(`| ${label} | ${fmt(five, digits)} | ${fmt(cc, digits)} | ${fmt(cc / five, 2)} |`);
    }
  } finally {
    await vhost.delete();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
