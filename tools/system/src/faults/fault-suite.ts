import { randomBytes } from 'node:crypto';
import { chmod, cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startMailCatcher } from '@notify/mail-catcher';
import { startWhatsappSandbox } from '@notify/whatsapp-sandbox';
import { ORDER_EVENTS_QUEUE, UNROUTABLE_QUEUE } from '@notify/contracts';
import { createPool } from '@notify/service-kit';
import { channelStatesCheck, summarise } from './effect-audit.js';
import type { AcceptedOrder, AuditSummary, CrashWindow } from './effect-audit.js';
import { apiSuccessStates, collectSnapshot, outboxBacklog, ProviderLedger } from './effect-snapshot.js';
import type { FaultProfile, ScenarioId } from './fault-profiles.js';
import { freePorts } from '../tcp-ports.js';
import { Haproxy } from './haproxy.js';
import { ProviderLine } from './provider-line.js';
import { OrderFactory } from './order-traffic.js';
import { PrivatePostgres } from './private-postgres.js';
import { prepareBroker } from './broker-binaries.js';
import type { BrokerVersion } from './broker-binaries.js';
import { PrivateRabbitNode, sharedNodePeersOfRun } from './private-rabbitmq.js';
import { check, SCENARIOS } from './scenarios.js';
import type { BrokerUnderTest, Check, Scenario, ScenarioContext } from './scenarios.js';
import { parkedUnroutable } from './parked-letters.js';
import { markOwner, RUN_DIR_PREFIX, sweepStaleRuns } from './stale-runs.js';
import { SystemUnderTest } from './system-under-test.js';

export interface ScenarioRow {
  readonly id: ScenarioId;
  readonly title: string;
  readonly accepted: number;
  lost: number;
  duplicated: number;
  /** Second provider copies inside a documented crash window (see docs/reliability.md). */
  windowDuplicated: number;
  readonly recoveryMs: number | undefined;
  /** How long the row took: load, fault, settling and the books. */
  readonly durationMs: number;
  /** False for a row without a fault (the soak): it has no time to recover. */
  readonly faulted: boolean;
  readonly checks: Check[];
  readonly notes: string[];
  /** A few orders that were lost or duplicated, with what went wrong. */
  readonly problems: string[];
}

export interface SuiteReport {
  readonly profile: FaultProfile['name'];
  /** The RabbitMQ the private nodes ran: the setting and the version the node reported. */
  readonly broker: { readonly setting: BrokerVersion; readonly version: string };
  readonly startedAt: string;
  readonly finishedAt: string;
  /** Whether GET /orders/:id reported each channel's outcome, and so was part of the check. */
  readonly statusLoop: boolean;
  readonly rows: ScenarioRow[];
  readonly passed: boolean;
}

export interface SuiteOptions {
  readonly profile: FaultProfile;
  /** Which RabbitMQ the private nodes run (default 3.10, the machine's). */
  readonly broker?: BrokerVersion;
  /** A subset of the profile's scenarios (default: all of them). */
  readonly scenarios?: readonly ScenarioId[];
  readonly log?: (line: string) => void;
  /** Copy every process's log here before the temporary folder is removed. */
  readonly keepLogsIn?: string;
}

export function rowPassed(row: ScenarioRow): boolean {
  return row.lost === 0 && row.duplicated === 0 && row.checks.every((c) => c.ok);
}

/**
 * Runs the fault scenarios against private infrastructure: a PostgreSQL instance and
 * RabbitMQ nodes of its own (plus HAProxy for the cluster), the six services as
 * processes, the SMTP and Twilio stand-ins in this process. `teardown()` removes all of
 * it, also when a scenario throws or the run is interrupted.
 */
export class FaultSuite {
  private readonly cleanups: { what: string; run: () => Promise<unknown> }[] = [];
  private tornDown: Promise<void> | null = null;
  private readonly runId = randomBytes(3).toString('hex');
  private readonly prefix = `faults-${this.runId}-`;
  private dir = '';
  private readonly log: (line: string) => void;

  constructor(private readonly options: SuiteOptions) {
    const started = Date.now();
    const out = options.log ?? ((l: string) => process.stdout.write(`${l}\n`));
    this.log = (l) => out(`[faults +${((Date.now() - started) / 1000).toFixed(0)}s] ${l}`);
  }

  private onTeardown(what: string, run: () => Promise<unknown>) {
    this.cleanups.push({ what, run });
  }

  async run(): Promise<SuiteReport> {
    const { profile } = this.options;
    const selected = (this.options.scenarios ?? profile.scenarios).filter((id) =>
      SCENARIOS.some((s) => s.id === id),
    );
    const startedAt = new Date().toISOString();
    const rows: ScenarioRow[] = [];
    let statusLoop = false;

    await sweepStaleRuns(this.log);
    this.dir = await mkdtemp(join(tmpdir(), RUN_DIR_PREFIX));
    // The broker and database accounts need to reach their folders inside.
    await chmod(this.dir, 0o755);
    await markOwner(this.dir);
    this.onTeardown('temporary folder', () => rm(this.dir, { recursive: true, force: true }));
    const logDir = join(this.dir, 'logs');
    await mkdir(logDir);
    if (this.options.keepLogsIn) {
      const keep = this.options.keepLogsIn;
      this.onTeardown('copy logs', () => cp(logDir, keep, { recursive: true }));
    }

    const needCluster = selected.includes(8);
    const [pgPort, aPort, aDist, bPort, bDist, cPort, cDist, haPort, epmdPort] = await freePorts(9);
    const binaries = await prepareBroker(this.options.broker ?? '3.10', {
      dir: this.dir,
      epmdPort: epmdPort!,
      log: this.log,
    });
    this.onTeardown("stop the broker nodes' epmd", () => binaries.stop());
    const node = (name: string, amqpPort: number, distPort: number) =>
      PrivateRabbitNode.create({
        name: `${this.prefix}${name}`,
        prefix: this.prefix,
        amqpPort,
        distPort,
        dir: join(this.dir, `rabbit-${name}`),
        binaries,
      });

    this.log(`private PostgreSQL on ${pgPort}, RabbitMQ ${this.prefix}a on ${aPort}`);
    const a = await node('a', aPort!, aDist!);
    this.onTeardown(`stop ${a.nodeName}`, () => a.stop());
    const [database] = await Promise.all([
      PrivatePostgres.start({ dir: join(this.dir, 'postgres'), port: pgPort! }),
      a.start(),
    ]);
    this.onTeardown('stop PostgreSQL', () => database.stop());
    const brokerVersion = await a.serverVersion();
    this.log(`RabbitMQ ${brokerVersion} (FAULTS_BROKER=${binaries.version})`);
    const others: PrivateRabbitNode[] = [];
    let othersBooting: Promise<unknown> = Promise.resolve();
    if (needCluster) {
      // Booting takes a while; the two extra nodes come up while the single-node scenarios run.
      others.push(await node('b', bPort!, bDist!), await node('c', cPort!, cDist!));
      for (const n of others) this.onTeardown(`stop ${n.nodeName}`, () => n.stop());
      othersBooting = Promise.allSettled(others.map((n) => n.start()));
    }

    const databaseUrl = await database.createDatabase('notify');
    // The audit runs six queries at once over thousands of orders; give them room and time.
    // The services' own pool factory: a client killed by scenario 4's restart must not
    // crash the harness. Its queries name their schemas.
    const pool = createPool({
      url: databaseUrl,
      schema: 'public',
      max: 8,
      applicationName: 'fault-suite-audit',
      connectionTimeoutMillis: 30_000,
    });
    this.onTeardown('close the audit pool', () => pool.end());
    const mail = await startMailCatcher({ maxMessages: 1_000_000 });
    this.onTeardown('close the SMTP stand-in', () => mail.close());
    const sandbox = await startWhatsappSandbox({ maxMessages: 1_000_000 });
    this.onTeardown('close the Twilio stand-in', () => sandbox.close());
    const providers = new ProviderLedger(mail, sandbox);
    const lines = {
      smtp: await ProviderLine.open(mail.smtpUrl),
      twilio: await ProviderLine.open(sandbox.url),
    };
    this.onTeardown('close the provider lines', () => Promise.all([lines.smtp.cut(), lines.twilio.cut()]));
    const factory = new OrderFactory(this.runId);
    const audits = new Map<ScenarioRow, { orders: AcceptedOrder[]; windows: CrashWindow[] }>();

    const startSystem = async (amqpUrl: string) => {
      const system = await SystemUnderTest.start({
        amqpUrl,
        databaseUrl,
        mail,
        sandbox,
        logDir,
        env: profile.env,
        serviceEnv: profile.serviceEnv,
        providerUrls: {
          smtpUrl: lines.smtp.urlFor(mail.smtpUrl),
          twilioUrl: lines.twilio.urlFor(sandbox.url),
        },
      });
      this.onTeardown('stop the services', () => system.stop());
      const success = await apiSuccessStates(system.apiUrl);
      statusLoop = success !== undefined;
      this.log(
        statusLoop
          ? 'the order API reports outcomes: GET /orders/:id is part of the check'
          : 'the order API reports publication only: outcomes are checked at the providers and in the services tables',
      );
      return { system, success };
    };

    const runScenarios = async (ids: ScenarioId[], broker: BrokerUnderTest) => {
      const { system, success } = await startSystem(broker.url);
      for (const id of ids) {
        const scenario = SCENARIOS.find((s) => s.id === id)!;
        const ctx: ScenarioContext = {
          profile,
          system,
          broker,
          database,
          pool,
          mail,
          sandbox,
          providers,
          lines,
          factory,
          runTag: this.runId,
          inFlightQueue: (name) =>
            !name.endsWith('.dlq') &&
            name !== UNROUTABLE_QUEUE.name &&
            (success !== undefined || !name.startsWith(ORDER_EVENTS_QUEUE)),
          log: (l) => this.log(`  ${l}`),
        };
        const row = await this.runScenario(scenario, ctx, success, audits);
        rows.push(row);
        this.log(
          `scenario ${id}: ${row.accepted} accepted, ${row.lost} lost, ${row.duplicated} duplicated` +
            `${row.windowDuplicated ? ` (+${row.windowDuplicated} in a crash window)` : ''}, ` +
            `checks ${row.checks.filter((c) => c.ok).length}/${row.checks.length}`,
        );
      }
      await system.stop();
    };

    const single = selected.filter((id) => id !== 8);
    if (single.length) {
      const vhost = 'faults';
      await a.addVhost(vhost);
      await runScenarios(single, {
        vhost,
        url: a.amqpUrl(vhost),
        directUrl: () => a.amqpUrl(vhost),
        nodes: [a],
        ctlNode: () => a,
        queues: (withLeader) => a.queues(vhost, withLeader),
      });
    }

    if (needCluster) {
      await othersBooting;
      for (const n of others) {
        if (!n.running) throw new Error(`${n.nodeName} did not start; see its log`);
        this.log(`${n.nodeName} joins ${a.nodeName}`);
        await n.joinCluster(a);
      }
      const nodes = [a, ...others];
      const members = await a.clusterNodes();
      if (members.length !== 3 || members.some((m) => !m.startsWith(this.prefix))) {
        throw new Error(`unexpected cluster membership: ${members.join(', ')}`);
      }
      const haproxy = await Haproxy.start({
        dir: this.dir,
        port: haPort!,
        backends: nodes.map((n, i) => ({ name: `node${i}`, port: n.amqpPort })),
      });
      this.onTeardown('stop HAProxy', () => haproxy.stop());
      const vhost = 'faults-cluster';
      await a.addVhost(vhost);
      const running = () => nodes.find((n) => n.running) ?? a;
      await runScenarios([8], {
        vhost,
        url: haproxy.url(vhost),
        directUrl: () => running().amqpUrl(vhost),
        nodes,
        ctlNode: running,
        queues: (withLeader) => running().queues(vhost, withLeader),
      });
    }

    // A duplicate can arrive after its scenario's books were closed: count once more at the end.
    for (const [row, { orders, windows }] of audits) {
      const snapshot = await collectSnapshot({ pool, providers }, orders).catch(async () => {
        await sleep(5_000);
        return collectSnapshot({ pool, providers }, orders);
      });
      const late = summarise(orders, snapshot, windows, undefined);
      if (late.duplicated > row.duplicated || late.windowDuplicated > row.windowDuplicated) {
        row.notes.push(
          `duplicates found after the scenario ended: ${late.duplicated + late.windowDuplicated}`,
        );
        row.duplicated = Math.max(row.duplicated, late.duplicated);
        row.windowDuplicated = Math.max(row.windowDuplicated, late.windowDuplicated);
      }
    }

    rows.sort((x, y) => x.id - y.id);
    return {
      profile: profile.name,
      broker: { setting: binaries.version, version: brokerVersion },
      startedAt,
      finishedAt: new Date().toISOString(),
      statusLoop,
      rows,
      passed: rows.length > 0 && rows.every(rowPassed),
    };
  }

  private async runScenario(
    scenario: Scenario,
    ctx: ScenarioContext,
    success: string[] | undefined,
    audits: Map<ScenarioRow, { orders: AcceptedOrder[]; windows: CrashWindow[] }>,
  ): Promise<ScenarioRow> {
    const { profile, system, pool, providers } = ctx;
    this.log(`scenario ${scenario.id}: ${scenario.title}`);
    const rowStarted = Date.now();
    system.takeUnexpectedExits();
    const outcome = await scenario.run(ctx);
    const accepted: AcceptedOrder[] = outcome.orders
      .filter((o) => o.outcome === 'accepted' && o.orderId && o.acceptedAt !== undefined)
      .map((o) => ({ orderId: o.orderId!, email: o.email, phone: o.phone, acceptedAt: o.acceptedAt! }));
    const refused = outcome.orders.filter((o) => o.outcome === 'refused');
    const abandoned = outcome.orders.filter((o) => o.outcome === 'abandoned');
    this.log(`  load done: ${accepted.length} accepted; waiting for every effect`);

    const settled = outcome.settle ? outcome.settle() : Promise.resolve([] as Check[]);
    const deadline = Date.now() + profile.settleTimeoutMs;
    const auditOnce = async (withApi: boolean): Promise<AuditSummary> =>
      summarise(
        accepted,
        await collectSnapshot(
          {
            pool,
            providers,
            ...(withApi && success ? { api: { url: system.apiUrl, successStates: success } } : {}),
          },
          accepted,
        ),
        outcome.windows,
        outcome.faultEnd,
      );
    // Reading the books can fail too (the private database was just restarted, a slow
    // query on a loaded machine); that is asked again, it is not the system's failure.
    const audit = async (withApi: boolean): Promise<AuditSummary> => {
      for (let tries = 1; ; tries++) {
        try {
          return await auditOnce(withApi);
        } catch (err) {
          if (tries >= 10) throw err;
          this.log(`  audit query failed (${(err as Error).message}); asking again`);
          await sleep(3_000);
        }
      }
    };
    let summary = await audit(false);
    while (summary.lost > 0 && Date.now() < deadline) {
      await sleep(2_000);
      summary = await audit(false);
    }
    if (success) {
      summary = await audit(true);
      while (summary.lost > 0 && Date.now() < deadline) {
        await sleep(2_000);
        summary = await audit(true);
      }
    }
    const settleChecks = await settled;
    const quiet = await this.waitQuiet(ctx, Math.max(60_000, deadline - Date.now()));
    const closingChecks = outcome.closing ? await outcome.closing() : [];
    // Books closed only once nothing is in flight, so a late duplicate would be in them.
    summary = await audit(Boolean(success));
    const exits = system.takeUnexpectedExits();
    const queues = await ctx.broker.queues().catch(() => []);
    // The order API parks unroutable messages in its database; count those too.
    const unroutable =
      (queues.find((q) => q.name === UNROUTABLE_QUEUE.name)?.messages ?? 0) +
      (await parkedUnroutable(ctx.pool).catch(() => 0));

    const checks: Check[] = [
      ...outcome.checks,
      ...settleChecks,
      ...closingChecks,
      check('nothing left in flight (outbox, work and retry queues empty)', quiet.ok, quiet.detail),
      check(
        'nothing unroutable',
        unroutable === 0,
        `${unroutable} in notification.unroutable or parked from it`,
      ),
      check(
        'every order answered',
        refused.length === 0 && abandoned.length === 0,
        refused.length || abandoned.length
          ? `${refused.length} refused (${refused[0]?.refusal ?? ''}), ${abandoned.length} given up`
          : `${outcome.orders.length} of ${outcome.orders.length}`,
      ),
      check('no process exited by itself', exits.length === 0, exits.join('; ') || 'none'),
      ...(success ? [channelStatesCheck(summary)] : []),
    ];
    const problems = summary.verdicts
      .filter((v) => !v.complete || v.duplicates.length || v.windowDuplicates.length)
      .slice(0, 8)
      .map(
        (v) =>
          `${v.orderId}: ${[
            ...v.missing.map((m) => `missing ${m}`),
            ...v.duplicates.map((d) => `duplicate ${d}`),
            ...v.windowDuplicates.map((d) => `${d} inside a crash window`),
          ].join(', ')}`,
      );
    const row: ScenarioRow = {
      id: scenario.id,
      title: scenario.title,
      accepted: summary.accepted,
      lost: summary.lost,
      duplicated: summary.duplicated,
      windowDuplicated: summary.windowDuplicated,
      recoveryMs: summary.recoveryMs,
      durationMs: Date.now() - rowStarted,
      faulted: outcome.faultEnd !== undefined,
      checks,
      notes: outcome.notes,
      problems,
    };
    audits.set(row, { orders: accepted, windows: outcome.windows });
    providers.archive();
    for (const p of problems) this.log(`  ${p}`);
    for (const c of checks.filter((x) => !x.ok)) this.log(`  check failed: ${c.name}: ${c.detail}`);
    return row;
  }

  private async waitQuiet(ctx: ScenarioContext, timeoutMs: number): Promise<{ ok: boolean; detail: string }> {
    const deadline = Date.now() + timeoutMs;
    let detail = '';
    for (;;) {
      const backlog = await outboxBacklog(ctx.pool);
      const queues = await ctx.broker.queues().catch(() => undefined);
      const busy = (queues ?? [])
        .filter((q) => ctx.inFlightQueue(q.name) && q.messages > 0)
        .map((q) => `${q.name}:${q.messages}`);
      detail = `outbox ${backlog}${busy.length ? `; ${busy.join(' ')}` : ''}`;
      if (backlog === 0 && queues && busy.length === 0) return { ok: true, detail: 'outbox 0, queues 0' };
      if (Date.now() > deadline) return { ok: false, detail };
      await sleep(2_000);
    }
  }

  /** Stops and removes everything this run started, newest first. Safe to call more than once. */
  teardown(): Promise<void> {
    this.tornDown ??= (async () => {
      for (const c of this.cleanups.reverse()) {
        try {
          await c.run();
        } catch (err) {
          this.log(`teardown: ${c.what} failed: ${(err as Error).message}`);
        }
      }
      const leaked = await sharedNodePeersOfRun('faults-');
      if (leaked.length)
        this.log(`WARNING: the shared node lists private nodes as peers: ${leaked.join(', ')}`);
    })();
    return this.tornDown;
  }
}
