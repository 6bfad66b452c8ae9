import { randomUUID } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { CHANNELS, channelConsumers, exampleMessages, notifications } from '@notify/contracts';
import type { MailCatcher } from '@notify/mail-catcher';
import type { WhatsappSandbox } from '@notify/whatsapp-sandbox';
import type pg from 'pg';
import type { ServiceName } from '@notify/contracts';
import { schemaOf } from '../services.js';
import type { CrashWindow } from './effect-audit.js';
import { outboxBacklog } from './effect-snapshot.js';
import type { ProviderLedger } from './effect-snapshot.js';
import type { FaultProfile, ScenarioId } from './fault-profiles.js';
import { answerCounts, longestAcceptGap, startTraffic } from './order-traffic.js';
import type { OrderFactory, PlacedOrder, TrafficOptions, TrafficRun } from './order-traffic.js';
import type { PrivatePostgres } from './private-postgres.js';
import type { PrivateRabbitNode, QueueDepth } from './private-rabbitmq.js';
import { RawAmqp } from './raw-amqp.js';
import type { DeadLetter } from './raw-amqp.js';
import type { SystemUnderTest } from './system-under-test.js';

export interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export function check(name: string, ok: boolean, detail: string): Check {
  return { name, ok, detail };
}

/** The broker the system runs against: one private node, or the private cluster behind HAProxy. */
export interface BrokerUnderTest {
  readonly vhost: string;
  /** What the services connect to. */
  readonly url: string;
  /** A direct URL to a running node (the suite's own clients). */
  directUrl(): string;
  readonly nodes: readonly PrivateRabbitNode[];
  /** A running node, for rabbitmqctl. */
  ctlNode(): PrivateRabbitNode;
  queues(withLeader?: boolean): Promise<QueueDepth[]>;
}

export interface ScenarioContext {
  readonly profile: FaultProfile;
  readonly system: SystemUnderTest;
  readonly broker: BrokerUnderTest;
  readonly database: PrivatePostgres;
  readonly pool: pg.Pool;
  readonly mail: MailCatcher;
  readonly sandbox: WhatsappSandbox;
  /** Everything the stand-ins accepted during the run (they are emptied between scenarios). */
  readonly providers: ProviderLedger;
  readonly factory: OrderFactory;
  readonly runTag: string;
  /**
   * Whether a queue's messages are work in flight: not a dead-letter queue, not the
   * unroutable catch-all, and not the order API's event queue while nothing consumes it
   * (before the status loop of issue 5).
   */
  inFlightQueue(name: string): boolean;
  log(message: string): void;
}

export interface ScenarioOutcome {
  readonly orders: PlacedOrder[];
  /** When the system was back to normal conditions (the fault cleared). */
  readonly faultEnd?: number;
  readonly windows: CrashWindow[];
  readonly checks: Check[];
  readonly notes: string[];
  /** Waited for after the load, before the books are closed (e.g. dead letters arriving). */
  readonly settle?: () => Promise<Check[]>;
}

export interface Scenario {
  readonly id: ScenarioId;
  readonly title: string;
  run(ctx: ScenarioContext): Promise<ScenarioOutcome>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function traffic(ctx: ScenarioContext, overrides: Partial<TrafficOptions> = {}): TrafficRun {
  const count = overrides.count ?? ctx.profile.orders;
  const rate = overrides.ratePerSecond ?? ctx.profile.rate;
  return startTraffic(ctx.system.apiUrl, ctx.factory, {
    ratePerSecond: rate,
    count,
    maxDurationMs: (count / rate) * 1000 * 2,
    ...overrides,
  });
}

/**
 * Load that runs for as long as the fault takes: the fault is injected once a third of
 * the profile's orders were accepted, and `finish` lets another third in after it, so
 * orders are being placed before, during and after it whatever its duration.
 */
function loadAroundFault(ctx: ScenarioContext) {
  const load = traffic(ctx, { count: ctx.profile.orders * 20, maxDurationMs: 10 * 60_000 });
  const third = Math.ceil(ctx.profile.orders / 3);
  return {
    load,
    warmedUp: () => load.accepted(third),
    more: (n = third) => load.accepted(load.acceptedCount() + n),
    async finish(): Promise<PlacedOrder[]> {
      await load.accepted(load.acceptedCount() + third);
      load.stop();
      return load.done;
    },
  };
}

function acceptedBetween(orders: readonly PlacedOrder[], from: number, to: number): number {
  return orders.filter((o) => o.acceptedAt !== undefined && o.acceptedAt >= from && o.acceptedAt <= to)
    .length;
}

function clientNote(orders: readonly PlacedOrder[]): string {
  const answers = Object.entries(answerCounts(orders))
    .map(([k, v]) => `${k}:${v}`)
    .join(' ');
  return `client answers ${answers}; longest gap between 201s ${(longestAcceptGap(orders) / 1000).toFixed(1)} s`;
}

async function servicesReady(system: SystemUnderTest, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const states = await Promise.all(
      [...system.stack.processes.values()].map(async (p) => {
        try {
          return (await fetch(`${p.url}/readyz`, { signal: AbortSignal.timeout(2_000) })).status === 200;
        } catch {
          return false;
        }
      }),
    );
    if (states.every(Boolean)) return true;
    if (Date.now() > deadline) return false;
    await sleep(500);
  }
}

const brokerStopStart: Scenario = {
  id: 1,
  title: 'RabbitMQ stop_app / start_app mid-load',
  async run(ctx) {
    const load = loadAroundFault(ctx);
    await load.warmedUp();
    const node = ctx.broker.nodes[0]!;
    ctx.log(`stop_app on ${node.nodeName} for ${ctx.profile.brokerDownMs} ms`);
    let faultStart = Date.now();
    let down = 0;
    try {
      await node.stopApp();
      faultStart = Date.now();
      await sleep(ctx.profile.brokerDownMs);
    } finally {
      down = Date.now();
      await node.startApp();
    }
    const faultEnd = Date.now();
    const orders = await load.finish();
    const during = acceptedBetween(orders, faultStart, down);
    return {
      orders,
      faultEnd,
      windows: [],
      checks: [
        check(
          'orders accepted while the broker was down',
          during > 0,
          `${during} accepted in the ${((down - faultStart) / 1000).toFixed(1)} s the broker was stopped`,
        ),
        check('every service ready again', await servicesReady(ctx.system, 120_000), '/readyz of all six'),
      ],
      notes: [clientNote(orders)],
    };
  },
};

const closeConnections: Scenario = {
  id: 2,
  title: 'broker closes every client connection',
  async run(ctx) {
    const load = loadAroundFault(ctx);
    const node = ctx.broker.nodes[0]!;
    await load.warmedUp();
    ctx.log('close_all_connections');
    await node.closeAllConnections('fault suite: connections closed under load');
    const first = Date.now();
    await load.more();
    ctx.log('close_all_connections again');
    await node.closeAllConnections('fault suite: connections closed under load');
    const faultEnd = Date.now();
    const orders = await load.finish();
    return {
      orders,
      faultEnd,
      windows: [],
      checks: [
        check('every service ready again', await servicesReady(ctx.system, 120_000), '/readyz of all six'),
        check(
          'orders accepted between the two closes',
          acceptedBetween(orders, first, faultEnd) > 0,
          `${acceptedBetween(orders, first, faultEnd)}`,
        ),
      ],
      notes: [clientNote(orders)],
    };
  },
};

/**
 * How long one send of the service can be under way: its own bound (the email service's
 * send lease, which it checks outlasts every SMTP timeout; the Twilio request timeout). A
 * copy the provider accepted within that time before the sender died, or while its
 * database was down, may have lost its record: that is the documented window.
 */
export function sendBoundMs(profile: FaultProfile, effect: CrashWindow['effect']): number {
  const env = { ...profile.env, ...profile.serviceEnv[effect] };
  return effect === 'email'
    ? Number(env.SMTP_SEND_LEASE_MS ?? 120_000)
    : Number(env.TWILIO_REQUEST_TIMEOUT_MS ?? 15_000);
}

const killServices: Scenario = {
  id: 3,
  title: 'SIGKILL each consumer, then the order API; restart',
  async run(ctx) {
    const load = loadAroundFault(ctx);
    await load.warmedUp();
    const windows: CrashWindow[] = [];
    const restarts: Promise<void>[] = [];
    const killed: string[] = [];
    const steps: ServiceName[] = [...CHANNELS, 'order-api'];
    const gap = Math.max(1, Math.ceil(ctx.profile.orders / 6));
    for (const [i, name] of steps.entries()) {
      if (i > 0) await load.more(gap);
      const at = await ctx.system.kill(name);
      killed.push(name);
      ctx.log(`SIGKILL ${name}`);
      // The API comes back while the client keeps retrying; consumers come back at once.
      const restart = ctx.system.start(name);
      restarts.push(restart);
      if (name === 'email' || name === 'whatsapp') {
        // A request the killed sender had already written is still accepted by the provider
        // after the kill, when the provider gets to it; a copy accepted before the new
        // process printed anything cannot be the new process's.
        windows.push({
          effect: name,
          from: at - sendBoundMs(ctx.profile, name),
          to: at,
          cause: `${name} SIGKILLed`,
        });
        const index = windows.length - 1;
        const settleWindow = () => {
          const w = windows[index]!;
          windows[index] = { ...w, to: Math.max(at, ctx.system.firstOutputAt(name) ?? at) };
        };
        void restart.then(settleWindow, settleWindow);
      }
      if (name === 'order-api') await restart;
    }
    await Promise.all(restarts);
    const faultEnd = Date.now();
    const orders = await load.finish();
    return {
      orders,
      faultEnd,
      windows,
      checks: [
        check('every service ready again', await servicesReady(ctx.system, 120_000), killed.join(', ')),
      ],
      notes: [clientNote(orders)],
    };
  },
};

const databaseRestart: Scenario = {
  id: 4,
  title: 'PostgreSQL restarted under load',
  async run(ctx) {
    const api = ctx.system.stack.get('order-api');
    const apiStarts = api.starts;
    const load = loadAroundFault(ctx);
    await load.warmedUp();
    const faultStart = Date.now();
    ctx.log(`PostgreSQL crash (immediate stop) for ${ctx.profile.databaseDownMs} ms`);
    try {
      await ctx.database.crash();
      await sleep(ctx.profile.databaseDownMs);
    } finally {
      await ctx.database.startAgain();
    }
    const faultEnd = Date.now();
    const orders = await load.finish();
    const answers = answerCounts(orders);
    const after = acceptedBetween(orders, faultEnd, Number.MAX_SAFE_INTEGER);
    return {
      orders,
      faultEnd,
      windows: (['email', 'whatsapp'] as const).map((effect) => ({
        effect,
        from: faultStart - sendBoundMs(ctx.profile, effect),
        to: faultEnd,
        cause: 'PostgreSQL down between the provider answer and the commit',
      })),
      checks: [
        check(
          'the API answered 503 while the database was down',
          (answers['503'] ?? 0) > 0,
          `503 x${answers['503'] ?? 0}`,
        ),
        check(
          'the API recovered by itself',
          after > 0 && api.starts === apiStarts && api.running,
          `${after} orders accepted after the restart, API process never restarted`,
        ),
        check('every service ready again', await servicesReady(ctx.system, 120_000), '/readyz of all six'),
      ],
      notes: [clientNote(orders)],
    };
  },
};

const resourceAlarm: Scenario = {
  id: 5,
  title: 'broker resource alarm raised and cleared',
  async run(ctx) {
    const node = ctx.broker.nodes[0]!;
    const load = loadAroundFault(ctx);
    await load.warmedUp();
    const checks: Check[] = [];
    let faultEnd = Date.now();
    for (const [i, kind] of ctx.profile.alarms.entries()) {
      if (i > 0) await load.more();
      ctx.log(`${kind} alarm for ${ctx.profile.alarmMs} ms`);
      let from = Date.now();
      let maxBacklog = 0;
      let raised = false;
      let to = Date.now();
      try {
        await (kind === 'memory' ? node.raiseMemoryAlarm() : node.raiseDiskAlarm());
        const deadline = Date.now() + 60_000;
        while (!raised && Date.now() < deadline) {
          raised = (await node.alarms()).includes(kind);
          if (!raised) await sleep(500);
        }
        from = Date.now();
        ctx.log(`${kind} alarm listed by the node`);
        const until = Date.now() + ctx.profile.alarmMs;
        while (Date.now() < until) {
          maxBacklog = Math.max(maxBacklog, await outboxBacklog(ctx.pool));
          await sleep(250);
        }
      } finally {
        to = Date.now();
        await (kind === 'memory' ? node.clearMemoryAlarm() : node.clearDiskAlarm());
        ctx.log(`${kind} alarm cleared`);
      }
      faultEnd = Date.now();
      const during = acceptedBetween(load.load.orders, from, to);
      checks.push(
        check(`${kind} alarm was in effect`, raised, raised ? 'listed by the node' : 'never listed'),
        check(`orders accepted during the ${kind} alarm`, during > 0, `${during}`),
        check(
          `the outbox held them during the ${kind} alarm`,
          maxBacklog > 0,
          `largest unpublished backlog ${maxBacklog}`,
        ),
      );
    }
    const orders = await load.finish();
    const remaining = await node.alarms();
    checks.push(check('alarms cleared', remaining.length === 0, remaining.join(',') || 'none'));
    checks.push(
      check('every service ready again', await servicesReady(ctx.system, 120_000), '/readyz of all six'),
    );
    return { orders, faultEnd, windows: [], checks, notes: [clientNote(orders)] };
  },
};

interface PoisonSpec {
  readonly label: string;
  readonly channel: (typeof CHANNELS)[number];
  readonly reason: string;
  readonly message: {
    content: Buffer;
    messageId?: string;
    correlationId?: string;
    type?: string;
  };
}

function poisonMessages(tag: string, rejectedEmail: string, rejectedPhone: string): PoisonSpec[] {
  const specs: PoisonSpec[] = [];
  for (const c of CHANNELS) {
    specs.push({
      label: `${c}: invalid JSON`,
      channel: c,
      reason: 'invalid-json',
      message: {
        content: Buffer.from('{"orderId": "'),
        messageId: `poison-${tag}-${c}-json`,
        type: notifications[c].type,
      },
    });
    specs.push({
      label: `${c}: wrong schema`,
      channel: c,
      reason: 'invalid-message',
      message: {
        content: Buffer.from(JSON.stringify({ orderId: 'not-a-uuid', surprise: true })),
        messageId: `poison-${tag}-${c}-schema`,
        type: notifications[c].type,
      },
    });
  }
  const valid = (channel: (typeof CHANNELS)[number], payload: object, label: string, reason: string) => {
    const orderId = randomUUID();
    specs.push({
      label,
      channel,
      reason,
      message: {
        content: Buffer.from(JSON.stringify({ ...payload, orderId })),
        messageId: `poison-${tag}-${channel}-${reason}`,
        correlationId: orderId,
        type: notifications[channel].type,
      },
    });
  };
  specs.push({
    label: 'email: unknown type',
    channel: 'email',
    reason: 'unknown-type',
    message: {
      content: Buffer.from(JSON.stringify(exampleMessages.email)),
      messageId: `poison-${tag}-email-type`,
      type: 'notification.email.v99',
    },
  });
  specs.push({
    label: 'fraud: no message id',
    channel: 'fraud',
    reason: 'missing-message-id',
    message: {
      content: Buffer.from(JSON.stringify({ ...exampleMessages.fraud, orderId: randomUUID() })),
      correlationId: `poison-${tag}-fraud-no-id`,
      type: notifications.fraud.type,
    },
  });
  valid(
    'payment',
    { ...exampleMessages.payment, paymentMethodToken: 'tok_gateway_error' },
    'payment: gateway fails on every call',
    'max-attempts-exceeded',
  );
  valid(
    'email',
    { ...exampleMessages.email, recipient: { name: 'Rejected', email: rejectedEmail } },
    'email: mailbox refused (550)',
    'permanent-failure',
  );
  valid(
    'whatsapp',
    { ...exampleMessages.whatsapp, to: rejectedPhone },
    'whatsapp: number refused (21211)',
    'permanent-failure',
  );
  valid(
    'logistic',
    {
      ...exampleMessages.logistic,
      shippingAddress: { ...exampleMessages.logistic.shippingAddress, country: 'AQ' },
    },
    'logistic: destination not served',
    'permanent-failure',
  );
  return specs;
}

function isPoison(spec: PoisonSpec, d: DeadLetter): boolean {
  if (spec.message.messageId) return d.messageId === spec.message.messageId;
  return d.correlationId === spec.message.correlationId;
}

const poisonMessagesScenario: Scenario = {
  id: 6,
  title: 'poison messages amid good traffic',
  async run(ctx) {
    const rejectedEmail = `poison-${ctx.runTag}@example.com`;
    const rejectedPhone = '+15005550009';
    ctx.mail.setBehaviour({ rejectRecipients: [rejectedEmail] });
    ctx.sandbox.setBehaviour({ rejectNumbers: [`whatsapp:${rejectedPhone}`] });
    const raw = await RawAmqp.connect(ctx.broker.directUrl());
    const specs = poisonMessages(ctx.runTag, rejectedEmail, rejectedPhone);
    const load = loadAroundFault(ctx);
    await load.warmedUp();
    const poisonedAt = Date.now();
    ctx.log(`publishing ${specs.length} poison messages straight to the exchange`);
    for (const s of specs) await raw.publishNotification({ routingKey: s.channel, ...s.message });
    await load.more();
    const orders = await load.finish();
    const found = new Map<PoisonSpec, DeadLetter>();

    const settle = async (): Promise<Check[]> => {
      const deadline = Date.now() + ctx.profile.settleTimeoutMs;
      while (found.size < specs.length && Date.now() < deadline) {
        for (const c of CHANNELS) {
          for (const d of await raw.drainDeadLetters(channelConsumers[c].deadLetterQueue.name)) {
            const spec = specs.find((s) => s.channel === c && isPoison(s, d));
            if (spec) found.set(spec, d);
          }
        }
        if (found.size < specs.length) await sleep(1_000);
      }
      await raw.close();
      ctx.mail.setBehaviour({});
      ctx.sandbox.setBehaviour({});
      const checks = specs.map((s) => {
        const d = found.get(s);
        return check(
          `dead-lettered: ${s.label}`,
          d !== undefined && d.reason === s.reason,
          d ? `${d.queue} ${d.reason}` : 'not in its dead-letter queue',
        );
      });
      // The always-failing payment sat in the retry queues; good payments must not have waited for it.
      const stuck = specs.find((s) => s.reason === 'max-attempts-exceeded');
      const stuckAt = stuck ? found.get(stuck)?.at : undefined;
      const later = orders.filter(
        (o) => o.acceptedAt !== undefined && o.acceptedAt > poisonedAt && o.orderId,
      );
      if (stuckAt !== undefined && later.length) {
        const r = await ctx.pool.query<{ n: string }>(
          `SELECT count(*) AS n FROM ${schemaOf('payment')}.payments WHERE order_id = ANY($1::uuid[]) AND decided_at < $2`,
          [later.map((o) => o.orderId), new Date(stuckAt)],
        );
        const n = Number(r.rows[0]?.n ?? 0);
        checks.push(
          check(
            'good payments overtook the retrying poison',
            n === later.length,
            `${n} of ${later.length} later orders authorised before the poison was dead-lettered`,
          ),
        );
      }
      return checks;
    };
    return {
      orders,
      faultEnd: poisonedAt,
      windows: [],
      checks: [],
      notes: [`${specs.length} poison messages`, clientNote(orders)],
      settle,
    };
  },
};

function baseDelays(profile: FaultProfile): number[] {
  const configured = profile.env.RETRY_DELAYS_MS;
  if (configured) return configured.split(',').map(Number);
  return [1_000, 5_000, 25_000, 120_000, 600_000];
}

const slowProvider: Scenario = {
  id: 7,
  title: 'slow SMTP, Twilio answering 429',
  async run(ctx) {
    const { profile } = ctx;
    const raw = await RawAmqp.connect(ctx.broker.directUrl());
    const tap = await raw.tapEvents(['whatsapp.retrying', 'email.retrying']);
    const rssBefore = (await ctx.system.rss()).email ?? 0;
    ctx.mail.setBehaviour({ delayMs: profile.slowSmtpDelayMs });
    ctx.sandbox.setBehaviour({ failNext: { count: profile.twilio429s, status: 429 } });
    const attemptsBefore = ctx.sandbox.attempts();
    ctx.log(
      `SMTP answers after ${profile.slowSmtpDelayMs} ms; Twilio answers 429 ${profile.twilio429s} times`,
    );
    let sampling = true;
    let maxUnacked = { email: 0, whatsapp: 0 };
    let maxReady = 0;
    let maxRss = rssBefore;
    const sampler = (async () => {
      while (sampling) {
        const q = await ctx.broker.queues().catch(() => [] as QueueDepth[]);
        const of = (n: string) => q.find((x) => x.name === n);
        maxUnacked = {
          email: Math.max(maxUnacked.email, of('email')?.unacked ?? 0),
          whatsapp: Math.max(maxUnacked.whatsapp, of('whatsapp')?.unacked ?? 0),
        };
        maxReady = Math.max(maxReady, of('email')?.ready ?? 0);
        maxRss = Math.max(maxRss, (await ctx.system.rss()).email ?? 0);
        await sleep(1_000);
      }
    })();
    let orders: PlacedOrder[] = [];
    let faultEnd = Date.now();
    try {
      const load = traffic(ctx, { count: profile.slowOrders });
      orders = await load.done;
      // The provider recovers once the load is in and every 429 has been served.
      const deadline = Date.now() + profile.settleTimeoutMs;
      while ((ctx.sandbox.behaviour().failNext?.count ?? 0) > 0 && Date.now() < deadline) await sleep(500);
    } finally {
      ctx.mail.setBehaviour({});
      ctx.sandbox.setBehaviour({});
      faultEnd = Date.now();
    }
    const settle = async (): Promise<Check[]> => {
      sampling = false;
      await sampler;
      await raw.close();
      const delays = baseDelays(profile);
      const byOrder = new Map<string, { attempt: number; delayMs: number }[]>();
      for (const e of tap.events) {
        const b = e.body as { orderId?: string; attempt?: number; delayMs?: number } | undefined;
        if (!b?.orderId || b.attempt === undefined || b.delayMs === undefined) continue;
        const list = byOrder.get(`${e.key}:${b.orderId}`) ?? [];
        list.push({ attempt: b.attempt, delayMs: b.delayMs });
        byOrder.set(`${e.key}:${b.orderId}`, list);
      }
      let violations = 0;
      let retried = 0;
      for (const list of byOrder.values()) {
        retried++;
        for (const r of list) {
          const base = delays[Math.min(r.attempt, delays.length) - 1] ?? 0;
          if (r.delayMs < base * 0.79 || r.delayMs > base * 1.21) violations++;
        }
      }
      const prefetchBound = Number(profile.env.PREFETCH ?? 16);
      const growth = maxRss - rssBefore;
      return [
        check(
          'Twilio 429s were served and retried',
          ctx.sandbox.attempts() - attemptsBefore >= profile.twilio429s,
          `${ctx.sandbox.attempts() - attemptsBefore} create requests for ${orders.length} orders`,
        ),
        check(
          'retries back off (delay follows the policy for each attempt)',
          retried > 0 && violations === 0,
          `${tap.events.length} retry events over ${retried} messages, ${violations} off-policy`,
        ),
        check(
          'unacknowledged messages bounded by prefetch',
          maxUnacked.email <= prefetchBound && maxUnacked.whatsapp <= prefetchBound,
          `max unacked email ${maxUnacked.email}, whatsapp ${maxUnacked.whatsapp} (prefetch <= ${prefetchBound}); email backlog peaked at ${maxReady}`,
        ),
        check(
          'email service memory bounded while SMTP is slow',
          growth < 96 * 1024 * 1024,
          `RSS ${(rssBefore / 2 ** 20).toFixed(0)} -> max ${(maxRss / 2 ** 20).toFixed(0)} MiB`,
        ),
      ];
    };
    return { orders, faultEnd, windows: [], checks: [], notes: [clientNote(orders)], settle };
  },
};

const clusterNodeKill: Scenario = {
  id: 8,
  title: '3-node cluster (quorum queues): a node killed and brought back',
  async run(ctx) {
    const queues = await ctx.broker.queues(true);
    const work = queues.filter((q) => (CHANNELS as readonly string[]).includes(q.name));
    const leaders = new Map<string, number>();
    for (const q of work) if (q.leader) leaders.set(q.leader, (leaders.get(q.leader) ?? 0) + 1);
    const victimName = [...leaders.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
    const victim = ctx.broker.nodes.find((n) => n.nodeName === victimName) ?? ctx.broker.nodes[0]!;
    const members = await ctx.broker
      .ctlNode()
      .ctl(['list_queues', '-p', ctx.broker.vhost, 'name', 'members', '--formatter', 'json'])
      .then((out) => JSON.parse(out) as { name: string; members?: string[] }[])
      .catch(() => []);
    const replicated = members.filter((m) => (m.members?.length ?? 0) === ctx.broker.nodes.length).length;

    const load = loadAroundFault(ctx);
    await load.warmedUp();
    ctx.log(`SIGKILL ${victim.nodeName} (leads ${leaders.get(victim.nodeName) ?? 0} work queues)`);
    try {
      await victim.kill();
      await sleep(ctx.profile.nodeDownMs);
    } finally {
      await victim.start();
    }
    const faultEnd = Date.now();
    const orders = await load.finish();
    const running = await ctx.broker
      .ctlNode()
      .ctl(['cluster_status', '--formatter', 'json'])
      .then((out) => (JSON.parse(out) as { running_nodes?: string[] }).running_nodes ?? [])
      .catch(() => [] as string[]);
    return {
      orders,
      faultEnd,
      windows: [],
      checks: [
        check(
          'queues are quorum queues on every node',
          members.length > 0 && replicated === members.length,
          `${replicated} of ${members.length} queues with ${ctx.broker.nodes.length} members`,
        ),
        check(
          'the killed node rejoined',
          running.includes(victim.nodeName) && running.length === ctx.broker.nodes.length,
          `running: ${running.join(', ')}`,
        ),
        check('every service ready again', await servicesReady(ctx.system, 120_000), '/readyz of all six'),
      ],
      notes: [clientNote(orders)],
    };
  },
};

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : 0;
}

/** The deepest queues of a sample, deepest first, as `name:depth`. */
function busiest(queues: Readonly<Record<string, number>>, n: number): string {
  const top = Object.entries(queues)
    .filter(([, depth]) => depth > 0)
    .sort((a, b) => b[1] - a[1])
    .slice(0, n);
  return top.length ? top.map(([name, depth]) => `${name}:${depth}`).join(' ') : 'queues empty';
}

/** The largest depth each queue reached across samples. */
function peakPerQueue(
  samples: readonly { queues: Readonly<Record<string, number>> }[],
): Record<string, number> {
  const peak: Record<string, number> = {};
  for (const s of samples)
    for (const [name, depth] of Object.entries(s.queues)) peak[name] = Math.max(peak[name] ?? 0, depth);
  return peak;
}

const soak: Scenario = {
  id: 9,
  title: `soak at a constant rate`,
  async run(ctx) {
    const { profile } = ctx;
    const count = Math.round((profile.soakMs / 1000) * profile.soakRate);
    const load = traffic(ctx, { count, ratePerSecond: profile.soakRate, maxDurationMs: profile.soakMs });
    const samples: {
      at: number;
      rss: Partial<Record<ServiceName, number>>;
      depth: number;
      /** Messages per in-flight queue, so a growing backlog names the consumer behind it. */
      queues: Record<string, number>;
      outbox: number;
    }[] = [];
    const started = Date.now();
    let sampling = true;
    // The stand-ins (SMTP, Twilio) live in this process: a starved event loop here slows
    // every SMTP round trip, so the log shows its delay next to the queue depths.
    const loop = monitorEventLoopDelay({ resolution: 20 });
    loop.enable();
    const sampler = (async () => {
      while (sampling) {
        const q = await ctx.broker.queues().catch(() => [] as QueueDepth[]);
        const inFlight = q.filter((x) => ctx.inFlightQueue(x.name));
        const queues = Object.fromEntries(inFlight.map((x) => [x.name, x.messages]));
        const depth = inFlight.reduce((n, x) => n + x.messages, 0);
        const outbox = await outboxBacklog(ctx.pool);
        samples.push({ at: Date.now(), rss: await ctx.system.rss(), depth, queues, outbox });
        const lagMs = loop.percentile(99) / 1e6;
        loop.reset();
        ctx.log(
          `soak +${Math.round((Date.now() - started) / 1000)}s: outbox ${outbox}, ${busiest(queues, 4)}; ` +
            `harness event loop p99 ${lagMs.toFixed(0)} ms`,
        );
        await sleep(10_000);
      }
    })();
    const orders = await load.done;
    sampling = false;
    await sampler;
    loop.disable();
    // The first minute is warm-up (JIT, pools, caches); compare the rest's first and last thirds.
    const steady = samples.filter((s) => s.at - started >= 60_000);
    const third = Math.max(1, Math.floor(steady.length / 3));
    const head = steady.slice(0, third);
    const tail = steady.slice(-third);
    const checks: Check[] = [];
    for (const name of ctx.system.stack.processes.keys()) {
      const a = median(head.map((s) => s.rss[name] ?? 0));
      const b = median(tail.map((s) => s.rss[name] ?? 0));
      checks.push(
        check(
          `${name} memory flat`,
          steady.length >= 3 && b <= a * 1.25 + 32 * 2 ** 20,
          `RSS median ${(a / 2 ** 20).toFixed(0)} -> ${(b / 2 ** 20).toFixed(0)} MiB`,
        ),
      );
    }
    const headDepth = Math.max(0, ...head.map((s) => s.depth));
    const tailDepth = Math.max(0, ...tail.map((s) => s.depth));
    const maxOutbox = Math.max(0, ...samples.map((s) => s.outbox));
    checks.push(
      check(
        'queue depths bounded',
        tailDepth <= Math.max(100, headDepth * 2),
        `max depth early ${headDepth}, late ${tailDepth}; outbox backlog max ${maxOutbox}; ` +
          `late: ${busiest(peakPerQueue(tail), 3)}`,
      ),
    );
    return {
      orders,
      windows: [],
      checks,
      notes: [
        `${samples.length} samples over ${((Date.now() - started) / 60_000).toFixed(1)} min`,
        clientNote(orders),
      ],
    };
  },
};

export const SCENARIOS: readonly Scenario[] = [
  brokerStopStart,
  closeConnections,
  killServices,
  databaseRestart,
  resourceAlarm,
  poisonMessagesScenario,
  slowProvider,
  clusterNodeKill,
  soak,
];
