// The whole system's throughput in one run: all six services as processes from their
// built output (as `npm start` runs them), orders posted to the API, and the rate at
// which they become complete (all five channels final). Figures: docs/benchmarks.md.
//
//   npx turbo run build --filter=@notify/system...
//   npx tsx tools/system/bench/whole-system.ts [options]
//
//   --seconds 20         length of each load phase
//   --connections 32     autocannon connections (closed loop and fixed rates)
//   --rates a,b          fixed rates in orders/s (default: 50% and 90% of the measured
//                        completed rate)
//   --soak               then a soak at half the maximum completed rate (--soak-rate N to
//                        choose), for --soak-seconds (600), sampling every --sample-seconds (10)
//   --otel               run everything twice, telemetry off then on (OTEL_EXPORTER_OTLP_ENDPOINT
//                        pointing at a receiver in this process), to read telemetry's cost
//   --callbacks          the WhatsApp sandbox sends status callbacks (off: answers at once, no more)
//   --cpu-prof <dir>     profile every service (node --cpu-prof; written when they stop)
//   --node <binary>      run the services with another Node binary or wrapper
//   --log-level info     the services' LOG_LEVEL
//   --commit-delay <us>  PostgreSQL commit batching for the run's database: commit_delay in
//                        microseconds and --commit-siblings (default 5, PostgreSQL's), set with
//                        ALTER DATABASE before the services connect (the run's user is a superuser)
//   --tiny               a few orders per phase, seconds-long soak: checks that the script runs
//                        (whole-system.int.test.ts); its figures mean nothing
//
// Its own vhost and database (removed afterwards); the mail catcher and the WhatsApp
// sandbox run in this process and answer at once; the payment simulator has no latency.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  CHANNELS,
  exampleMessages,
  fullTopology,
  notifications,
  ORDER_EVENTS_QUEUE,
  SERVICE_LIST,
  SERVICE_NAMES,
} from '@notify/contracts';
import type { ServiceName } from '@notify/contracts';
import { startMailCatcher } from '@notify/mail-catcher';
import { Broker } from '@notify/messaging';
import { createTestVhost, rawConfirmedPublish } from '@notify/messaging/testing';
import type { TestVhost } from '@notify/messaging/testing';
import { createTestDatabase } from '@notify/service-kit/testing';
import { startWhatsappSandbox } from '@notify/whatsapp-sandbox';
import amqplib from 'amqplib';
import pg from 'pg';
import { OrderApiClient } from '../src/order-client.js';
import { standInUrls, startStack } from '../src/stack.js';
import type { Stack, StackOptions } from '../src/stack.js';
import { freePortsFor } from '../src/tcp-ports.js';
import { CompletionTracker } from './completion-tracker.js';
import { postOrders } from './order-load.js';
import { startOtlpSink } from './otlp-sink.js';
import type { OtlpSink } from './otlp-sink.js';
import { wholeNumber } from './bench-args.js';
import { cpuMs, percentile, rssMiB, slopePerMinute } from './proc-stats.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    connections: { type: 'string', default: '32' },
    rates: { type: 'string' },
    soak: { type: 'boolean', default: false },
    'soak-rate': { type: 'string' },
    'soak-seconds': { type: 'string', default: '600' },
    'sample-seconds': { type: 'string', default: '10' },
    otel: { type: 'boolean', default: false },
    callbacks: { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
    node: { type: 'string' },
    'log-level': { type: 'string', default: 'info' },
    'commit-delay': { type: 'string' },
    'commit-siblings': { type: 'string', default: '5' },
    tiny: { type: 'boolean', default: false },
  },
});

function positive(name: string, value: string | undefined): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got ${value}`);
  return n;
}

const TINY = args.tiny;
const SECONDS = TINY ? 2 : positive('seconds', args.seconds);
const CONNECTIONS = TINY ? 4 : positive('connections', args.connections);
const RATES = TINY ? [5] : args.rates?.split(',').map((r) => positive('rates', r));
const SOAK_SECONDS = TINY ? 4 : positive('soak-seconds', args['soak-seconds']);
const SAMPLE_SECONDS = TINY ? 1 : positive('sample-seconds', args['sample-seconds']);
const SOAK_RATE = args['soak-rate'] ? positive('soak-rate', args['soak-rate']) : undefined;
const RAW_SECONDS = TINY ? 1 : 5;
/** How long the last orders of a phase may take to complete after the load stops. */
const COMPLETE_TIMEOUT_MS = TINY ? 120_000 : 600_000;
const ORDER_API_SCHEMA = SERVICE_LIST.find((s) => s.name === 'order-api')!.schema;

function log(line = '') {
  process.stdout.write(`${line}\n`);
}
const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

/** The broker's limit: raw amqplib publishing one order's five messages, confirmed. */
async function rawBrokerLimit(vhost: TestVhost) {
  const result = await rawConfirmedPublish(
    vhost.url,
    CHANNELS.map((c) => ({
      exchange: notifications[c].exchange,
      routingKey: notifications[c].routingKey,
      content: Buffer.from(JSON.stringify(exampleMessages[c])),
      properties: {
        type: notifications[c].type,
        contentType: 'application/json',
        timestamp: Math.floor(Date.now() / 1000),
        appId: 'bench-raw',
      },
    })),
    { seconds: RAW_SECONDS },
  );
  const conn = await amqplib.connect(vhost.url);
  const ch = await conn.createChannel();
  for (const c of CHANNELS) await ch.purgeQueue(c);
  await conn.close();
  return {
    ordersPerSecond: result.messagesPerSecond / CHANNELS.length,
    clientCpuMsPerOrder: result.clientCpuMsPerMessage * CHANNELS.length,
  };
}

/** Where a process's CPU goes in a phase: the six services, their PostgreSQL sessions, this process. */
interface CpuSnapshot {
  readonly services: Map<ServiceName, number>;
  /** Each PostgreSQL session of the run's database but this script's: pid -> service, CPU ms. */
  readonly postgres: Map<number, { readonly service: string; readonly ms: number }>;
  readonly bench: number;
}

/** This script's own sessions (the completion tracker's polling) are left out of PostgreSQL's figures. */
const BENCH_APPLICATION_NAME = 'bench-whole-system';

interface Phase {
  readonly label: string;
  readonly accepted: number;
  readonly intake: number;
  readonly completedRate: number;
  readonly inWindowRate: number;
  readonly notSucceeded: number;
  readonly errors: number;
  readonly httpP50: number;
  readonly httpP99: number;
  readonly p50: number;
  readonly p99: number;
  /** CPU ms per completed order, per process. */
  readonly cpu: Map<string, number>;
}

class SystemUnderLoad {
  readonly tracker: CompletionTracker;

  constructor(
    readonly stack: Stack,
    private readonly pool: pg.Pool,
    private readonly database: string,
  ) {
    this.tracker = new CompletionTracker(pool, ORDER_API_SCHEMA, TINY ? 200 : 500);
  }

  pid(name: ServiceName): number {
    const pid = this.stack.get(name).pid;
    if (pid === undefined) throw new Error(`${name} has no process`);
    return pid;
  }

  async cpu(): Promise<CpuSnapshot> {
    // Each service names its sessions after itself (`<service>` and `<service>-health`).
    const { rows } = await this.pool.query<{ pid: number; app: string }>(
      `SELECT pid, application_name AS app FROM pg_stat_activity
        WHERE datname = $1 AND backend_type = 'client backend' AND application_name <> $2`,
      [this.database, BENCH_APPLICATION_NAME],
    );
    const usage = process.cpuUsage();
    return {
      services: new Map(SERVICE_NAMES.map((n) => [n, cpuMs(this.pid(n))])),
      postgres: new Map(
        rows.map((r) => [r.pid, { service: r.app.replace(/-health$/, ''), ms: cpuMs(r.pid) }]),
      ),
      bench: (usage.user + usage.system) / 1000,
    };
  }

  /** One load phase: post, wait until every accepted order is complete, read the figures. */
  async phase(
    label: string,
    options: { connections: number; seconds: number; rate?: number },
  ): Promise<Phase> {
    const ids: string[] = [];
    const before = await this.cpu();
    const startedMs = performance.timeOrigin + performance.now();
    const r = await postOrders(this.stack.apiUrl, {
      ...options,
      onAccepted: (id, at) => {
        ids.push(id);
        this.tracker.accept(id, at);
      },
    });
    const endedMs = startedMs + r.seconds * 1000;
    if (ids.length === 0 && r.errors + r.non2xx > 0) {
      // The API refused or could not be reached: the figures would be meaningless (an
      // earlier run printed a table of zeros and exited 0), so the run fails and says why.
      throw new Error(
        `${label}: no order accepted, ${r.non2xx} refused and ${r.errors} failed requests` +
          (r.firstRefusal ? `; first refusal: ${r.firstRefusal}` : ' (connection errors or timeouts)'),
      );
    }
    if (ids.length === 0) {
      // Nothing answered in time (a cold API on a busy machine): no figures, not a failure.
      log(
        `  ${label}: no order accepted in ${fmt(r.seconds)} s (errors ${r.errors + r.non2xx}); load ${load()}`,
      );
    }
    await this.tracker.waitFor(ids, COMPLETE_TIMEOUT_MS);
    const after = await this.cpu();
    const done = ids.map((id) => this.tracker.completed.get(id)!);
    const lastMs = Math.max(...done.map((d) => d.atMs));
    const latencies = ids.map((id) => this.tracker.completed.get(id)!.atMs - this.tracker.accepted.get(id)!);
    latencies.sort((a, b) => a - b);
    const n = Math.max(1, ids.length);
    const cpu = new Map<string, number>();
    let services = 0;
    for (const name of SERVICE_NAMES) {
      const ms = after.services.get(name)! - before.services.get(name)!;
      services += ms;
      cpu.set(name, ms / n);
    }
    cpu.set('six services', services / n);
    // A session that opened during the phase counts from 0; one that closed is not counted.
    let postgres = 0;
    const byService = new Map<string, number>();
    for (const [pid, s] of after.postgres) {
      const before0 = before.postgres.get(pid)?.ms ?? 0;
      postgres += s.ms - before0;
      byService.set(s.service, (byService.get(s.service) ?? 0) + s.ms - before0);
    }
    cpu.set('PostgreSQL sessions', postgres / n);
    let named = 0;
    for (const name of SERVICE_NAMES) {
      named += byService.get(name) ?? 0;
      cpu.set(`  PostgreSQL, ${name}'s sessions`, (byService.get(name) ?? 0) / n);
    }
    cpu.set('  PostgreSQL, sessions named otherwise', (postgres - named) / n);
    cpu.set('this process (load, stand-ins)', (after.bench - before.bench) / n);
    const phase: Phase = {
      label,
      accepted: ids.length,
      intake: ids.length / r.seconds,
      // Over the phase: from the load's start to its end or the last completion, the later.
      completedRate: ids.length / ((Math.max(lastMs, endedMs) - startedMs) / 1000),
      inWindowRate: done.filter((d) => d.atMs <= endedMs).length / r.seconds,
      notSucceeded: done.filter((d) => !d.succeeded).length,
      errors: r.errors + r.non2xx,
      httpP50: r.p50,
      httpP99: r.p99,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      cpu,
    };
    await this.confirmThroughApi(ids);
    if (ids.length)
      log(
        `  ${label}: ${phase.accepted} accepted (${fmt(phase.intake)}/s), complete at ${fmt(phase.completedRate)}/s, ` +
          `201 -> complete p50 ${fmt(phase.p50, 0)} ms p99 ${fmt(phase.p99, 0)} ms, ` +
          `errors ${phase.errors}, CPU ${fmt(services / n, 2)} ms/order (six services); load ${load()}`,
      );
    return phase;
  }

  /** The API itself says a few of these orders are no longer in progress (GET /orders/:id). */
  private async confirmThroughApi(ids: readonly string[]): Promise<void> {
    const api = new OrderApiClient(this.stack.apiUrl);
    const step = Math.max(1, Math.floor(ids.length / 5));
    for (let i = 0; i < ids.length; i += step) {
      const order = await api.getOrder(ids[i]!);
      if (order.status === 'accepted' || order.status === 'processing') {
        throw new Error(`order ${order.id} is ${order.status} at the API, but complete in its database`);
      }
    }
  }
}

interface SoakResult {
  readonly rate: number;
  readonly phase: Phase;
  readonly seconds: number[];
  readonly rss: Map<ServiceName, number[]>;
  readonly queues: Map<string, number[]>;
  readonly pending: number[];
}

/** Load at a fixed rate for a long time, sampling memory, queue depths and orders in flight. */
async function soak(system: SystemUnderLoad, vhost: TestVhost, rate: number): Promise<SoakResult> {
  const t0 = Date.now();
  const seconds: number[] = [];
  const rss = new Map<ServiceName, number[]>(SERVICE_NAMES.map((n) => [n, []]));
  const queues = new Map<string, number[]>();
  const pending: number[] = [];
  let sampling = Promise.resolve();
  const sample = async () => {
    const depths = await vhost.queues();
    seconds.push((Date.now() - t0) / 1000);
    for (const name of SERVICE_NAMES) rss.get(name)!.push(rssMiB(system.pid(name)));
    for (const q of depths) {
      const series = queues.get(q.name) ?? Array<number>(seconds.length - 1).fill(0);
      series.push(q.messages);
      queues.set(q.name, series);
    }
    pending.push(system.tracker.pendingCount);
  };
  const timer = setInterval(() => {
    sampling = sampling.then(sample).catch((err: unknown) => log(`  (sample failed: ${String(err)})`));
  }, SAMPLE_SECONDS * 1000);
  let phase: Phase;
  try {
    await sample();
    phase = await system.phase(`soak at ${rate}/s for ${SOAK_SECONDS} s`, {
      connections: CONNECTIONS,
      seconds: SOAK_SECONDS,
      rate,
    });
  } finally {
    clearInterval(timer);
    await sampling;
  }
  await sample();
  return { rate, phase, seconds, rss, queues, pending };
}

/** A series' first, last and highest values and its slope, over the whole run and its second half. */
function trend(seconds: readonly number[], values: readonly number[]) {
  const half = Math.floor(values.length / 2);
  return {
    first: values[0] ?? NaN,
    last: values.at(-1) ?? NaN,
    max: Math.max(...values),
    slope: slopePerMinute(seconds, values),
    slopeLate: slopePerMinute(seconds.slice(half), values.slice(half)),
  };
}

function printSoak(s: SoakResult) {
  log('');
  log(`### Soak: ${s.rate} orders/s for ${SOAK_SECONDS} s, sampled every ${SAMPLE_SECONDS} s`);
  log('');
  const p = s.phase;
  log(
    `every order completed: ${p.accepted} accepted, ${p.accepted} complete (${p.notSucceeded} with a failed or dead-lettered channel), ` +
      `201 -> complete p50 ${fmt(p.p50, 0)} ms, p99 ${fmt(p.p99, 0)} ms, HTTP errors ${p.errors}`,
  );
  log('');
  // Flat: the second half grows by less than 1 MiB a minute (a leak of 1 KiB per order
  // would show at a few orders per second).
  log('| process | RSS first MiB | last | max | slope MiB/min | second half MiB/min | verdict |');
  log('| ------- | ------------: | ---: | --: | ------------: | ------------------: | ------- |');
  for (const [name, values] of s.rss) {
    const t = trend(s.seconds, values);
    log(
      `| ${name} | ${fmt(t.first)} | ${fmt(t.last)} | ${fmt(t.max)} | ${fmt(t.slope, 2)} | ${fmt(t.slopeLate, 2)} | ${t.slopeLate < 1 ? 'flat' : 'growing'} |`,
    );
  }
  log('');
  // Bounded: the queue ends with at most five seconds' worth of the rate waiting.
  const bound = Math.max(50, 5 * s.rate);
  log(`| queue | depth first | last | max | slope msgs/min | verdict (last <= ${bound}) |`);
  log('| ----- | ----------: | ---: | --: | -------------: | ------- |');
  const main = new Set<string>([...CHANNELS, ORDER_EVENTS_QUEUE]);
  const quiet: string[] = [];
  for (const [name, values] of [...s.queues].sort(([a], [b]) => a.localeCompare(b))) {
    const t = trend(s.seconds, values);
    if (!main.has(name) && t.max === 0) {
      quiet.push(name);
      continue;
    }
    log(
      `| ${name} | ${t.first} | ${t.last} | ${t.max} | ${fmt(t.slope, 1)} | ${t.last <= bound ? 'bounded' : 'growing'} |`,
    );
  }
  const t = trend(s.seconds, s.pending);
  log(
    `| (orders accepted, not yet complete) | ${t.first} | ${t.last} | ${t.max} | ${fmt(t.slope, 1)} | ${t.last <= bound ? 'bounded' : 'growing'} |`,
  );
  if (quiet.length) log(`\n${quiet.length} other queues (retry, dead-letter, unroutable) stayed empty.`);
}

function printPhases(
  title: string,
  phases: readonly Phase[],
  raw: { ordersPerSecond: number; clientCpuMsPerOrder: number },
) {
  log('');
  log(`### ${title}`);
  log('');
  log(
    `raw broker limit (amqplib, the same five persistent confirmed messages per order): ${fmt(raw.ordersPerSecond)} orders/s, ` +
      `client CPU ${fmt(raw.clientCpuMsPerOrder, 3)} ms/order`,
  );
  log('');
  log(
    '| phase | accepted | intake/s | completed/s | ratio | completed in window/s | 201 -> complete p50 / p99 ms | HTTP p50 / p99 ms | errors | not succeeded |',
  );
  log(
    '| ----- | -------: | -------: | ----------: | ----: | --------------------: | ---------------------------: | ----------------: | -----: | ------------: |',
  );
  for (const p of phases) {
    log(
      `| ${p.label} | ${p.accepted} | ${fmt(p.intake)} | ${fmt(p.completedRate)} | ${fmt(p.completedRate / p.intake, 2)} | ` +
        `${fmt(p.inWindowRate)} | ${fmt(p.p50, 0)} / ${fmt(p.p99, 0)} | ${fmt(p.httpP50, 0)} / ${fmt(p.httpP99, 0)} | ${p.errors} | ${p.notSucceeded} |`,
    );
  }
  log('');
  log(`CPU ms per completed order (from /proc/<pid>/stat before and after each phase):`);
  log('');
  const names = [...phases[0]!.cpu.keys()];
  log(`| process | ${phases.map((p) => p.label).join(' | ')} |`);
  log(`| ------- | ${phases.map(() => '---:').join(' | ')} |`);
  for (const name of names) log(`| ${name} | ${phases.map((p) => fmt(p.cpu.get(name)!, 2)).join(' | ')} |`);
}

/** A wrapper that runs Node with --cpu-prof into `dir` (services write profiles when they stop). */
function profilingNode(dir: string): { node: string; cleanup: () => void } {
  const wrapperDir = mkdtempSync(join(tmpdir(), 'bench-node-'));
  const node = join(wrapperDir, 'node');
  // exec: the service's pid is the node process's, so its CPU and RSS are read right.
  writeFileSync(node, `#!/bin/sh\nexec "${process.execPath}" --cpu-prof --cpu-prof-dir="${dir}" "$@"\n`);
  chmodSync(node, 0o755);
  return { node, cleanup: () => rmSync(wrapperDir, { recursive: true, force: true }) };
}

async function main() {
  log(
    `whole-system benchmark${TINY ? ' (tiny: checks that it runs, figures mean nothing)' : ''}: ${cpus().length} CPUs, ` +
      `load average ${load()}, Node ${process.version}, LOG_LEVEL=${args['log-level']}`,
  );
  const closers: (() => Promise<unknown>)[] = [];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch((err: unknown) => log(`  (cleanup: ${String(err)})`));
  };
  try {
    const vhost = await createTestVhost('bench-system');
    closers.push(() => vhost.delete());
    const database = await createTestDatabase('bench_system');
    closers.push(() => database.drop());
    const mail = await startMailCatcher({ maxMessages: 100 });
    closers.push(() => mail.close());
    const sandbox = await startWhatsappSandbox({ maxMessages: 100 });
    closers.push(() => sandbox.close());
    sandbox.setBehaviour({ callbacks: args.callbacks });
    let sink: OtlpSink | undefined;
    if (args.otel) {
      sink = await startOtlpSink();
      closers.push(() => sink!.close());
    }
    let node = args.node;
    if (args['cpu-prof']) {
      const wrapper = profilingNode(args['cpu-prof']);
      closers.push(async () => wrapper.cleanup());
      node = wrapper.node;
      log(`profiling the services into ${args['cpu-prof']}`);
    }
    const declarer = await Broker.connect({
      url: vhost.url,
      connectionName: 'bench-topology',
      topology: fullTopology(),
    });
    await declarer.waitUntilConnected();
    await declarer.close();

    log('raw broker limit (before any service runs)...');
    const raw = await rawBrokerLimit(vhost);
    const pool = new pg.Pool({
      connectionString: database.url,
      max: 2,
      application_name: BENCH_APPLICATION_NAME,
    });
    closers.push(() => pool.end());
    if (args['commit-delay'] !== undefined) {
      const delay = wholeNumber('commit-delay', args['commit-delay'], 0, 100_000);
      const siblings = wholeNumber('commit-siblings', args['commit-siblings'], 0, 1000);
      // Sessions opened from now on (every service's) inherit these.
      await pool.query(`ALTER DATABASE ${pg.escapeIdentifier(database.name)} SET commit_delay = ${delay}`);
      await pool.query(
        `ALTER DATABASE ${pg.escapeIdentifier(database.name)} SET commit_siblings = ${siblings}`,
      );
      // Read back from a new session, as the services' sessions will see it.
      const check = new pg.Client({ connectionString: database.url });
      await check.connect();
      const shown = await check
        .query<{ delay: string; siblings: string }>(
          "SELECT current_setting('commit_delay') AS delay, current_setting('commit_siblings') AS siblings",
        )
        .finally(() => check.end());
      log(
        `PostgreSQL commit batching: commit_delay ${shown.rows[0]!.delay} us, commit_siblings ${shown.rows[0]!.siblings}`,
      );
    }

    const variants = args.otel ? (['telemetry off', 'telemetry on'] as const) : (['telemetry off'] as const);
    const results: { variant: string; phases: Phase[] }[] = [];
    let soakResult: SoakResult | undefined;
    for (const variant of variants) {
      const otelOn = variant === 'telemetry on';
      const options: StackOptions = {
        amqpUrl: vhost.url,
        databaseUrl: database.url,
        ...standInUrls(mail, sandbox),
        ports: await freePortsFor(SERVICE_NAMES),
        ...(node ? { node } : {}),
        env: {
          LOG_LEVEL: args['log-level'],
          PAYMENT_SIMULATOR_LATENCY_MS: '0',
          ...(otelOn && sink ? { OTEL_EXPORTER_OTLP_ENDPOINT: sink.endpoint } : {}),
        },
        // No rate limit (one client posts everything); the client IP from X-Forwarded-For,
        // so fraud sees a shop's many shoppers rather than one.
        // The WhatsApp stand-in has no throughput limit, so neither has its sender here
        // (80/s by default, Twilio's): the run measures the processes, not a provider's cap.
        serviceEnv: {
          'order-api': { RATE_LIMIT_MAX: '0', TRUST_PROXY: 'true' },
          whatsapp: { TWILIO_MAX_PER_SECOND: '0' },
        },
        // The services' output is not kept: a soak would hold every line in memory.
        onLine: () => undefined,
      };
      log(`${args.otel ? `${variant}: ` : ''}starting the six services...`);
      const stack = await startStack(options);
      const system = new SystemUnderLoad(stack, pool, database.name);
      system.tracker.start();
      const phases: Phase[] = [];
      try {
        log('warm-up (JIT, connections, prepared statements)...');
        await system.phase('warm-up', { connections: Math.max(2, CONNECTIONS / 4), seconds: TINY ? 1 : 5 });
        const max = await system.phase(`closed loop c=${CONNECTIONS}`, {
          connections: CONNECTIONS,
          seconds: SECONDS,
        });
        phases.push(max);
        const rates = RATES ?? [0.5, 0.9].map((f) => Math.max(1, Math.floor(max.completedRate * f)));
        for (const rate of rates) {
          phases.push(
            await system.phase(`fixed ${rate}/s`, { connections: CONNECTIONS, seconds: SECONDS, rate }),
          );
        }
        if (args.soak && !soakResult) {
          const rate = SOAK_RATE ?? Math.max(1, Math.floor(max.completedRate / 2));
          log(`soak: ${rate} orders/s for ${SOAK_SECONDS} s...`);
          soakResult = await soak(system, vhost, rate);
        }
      } finally {
        await system.tracker.stop();
        await stack.stop();
      }
      results.push({ variant, phases });
    }

    log('');
    log(`## Whole system, ${new Date().toISOString()}, load average at the end ${load()}`);
    for (const r of results) printPhases(args.otel ? r.variant : 'Throughput', r.phases, raw);
    if (sink) {
      log('');
      const received = [...sink.received].map(
        ([path, r]) => `${path} ${r.requests} requests ${r.bytes} bytes`,
      );
      log(`OTLP receiver (telemetry on): ${received.length ? received.join(', ') : 'nothing received'}`);
      const [off, on] = results;
      if (off && on) {
        const a = off.phases[0]!.cpu.get('six services')!;
        const b = on.phases[0]!.cpu.get('six services')!;
        log(
          `telemetry cost, closed loop: ${fmt(a, 2)} -> ${fmt(b, 2)} ms CPU per order (six services), ` +
            `${fmt(off.phases[0]!.completedRate)} -> ${fmt(on.phases[0]!.completedRate)} completed/s`,
        );
      }
    }
    if (soakResult) printSoak(soakResult);
  } finally {
    await close();
  }
}

await main();
