import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_RETRY_POLICY } from '@notify/messaging';
import type { ServiceName } from '@notify/contracts';
import type { CrashWindow } from '../effect-audit.js';
import type { FaultProfile } from '../fault-profiles.js';
import { answerCounts, longestAcceptGap, startTraffic } from '../order-traffic.js';
import { deadLetteredSince } from '../parked-letters.js';
import type { PlacedOrder, TrafficOptions, TrafficRun } from '../order-traffic.js';
import type { SystemUnderTest } from '../system-under-test.js';
import { check } from './scenario.js';
import type { Check, ScenarioContext } from './scenario.js';

// The steps several scenarios share: order traffic around a fault, what the client saw,
// whether the services came back, and how long a provider send can be under way.

export function traffic(ctx: ScenarioContext, overrides: Partial<TrafficOptions> = {}): TrafficRun {
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
export function loadAroundFault(ctx: ScenarioContext) {
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

export function acceptedBetween(orders: readonly PlacedOrder[], from: number, to: number): number {
  return orders.filter((o) => o.acceptedAt !== undefined && o.acceptedAt >= from && o.acceptedAt <= to)
    .length;
}

export function clientNote(orders: readonly PlacedOrder[]): string {
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
          return (await fetch(`${p.opsUrl}/readyz`, { signal: AbortSignal.timeout(2_000) })).status === 200;
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

/** The check every fault ends with: all six services answer /readyz within two minutes. */
export async function everyServiceReady(ctx: ScenarioContext, detail = '/readyz of all six'): Promise<Check> {
  return check('every service ready again', await servicesReady(ctx.system, 120_000), detail);
}

/**
 * Takes something down, keeps it down for `ms`, and brings it back up, also when taking it
 * down failed half-way: a scenario must never leave the next one a broken system.
 */
export async function outage(ms: number, down: () => Promise<void>, up: () => Promise<void>): Promise<void> {
  try {
    await down();
    await sleep(ms);
  } finally {
    await up();
  }
}

/**
 * The documented window a PostgreSQL outage opens: a provider send under way when the
 * database went (or while it was away) may have lost its record.
 */
export function databaseOutageWindows(
  profile: FaultProfile,
  faultStart: number,
  faultEnd: number,
): CrashWindow[] {
  return (['email', 'whatsapp'] as const).map((effect) => ({
    effect,
    from: faultStart - sendBoundMs(profile, effect),
    to: faultEnd,
    cause: 'PostgreSQL down between the provider answer and the commit',
  }));
}

/** The order API refuses orders (503) while its database is down, rather than accepting what it cannot store. */
export function answered503WhileDown(orders: readonly PlacedOrder[]): Check {
  const n = answerCounts(orders)['503'] ?? 0;
  return check('the API answered 503 while the database was down', n > 0, `503 x${n}`);
}

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

/** The retry delays the services run with: the profile's RETRY_DELAYS_MS, or the runner's default. */
export function retryDelays(profile: FaultProfile): number[] {
  const configured = profile.env.RETRY_DELAYS_MS;
  if (configured) return configured.split(',').map(Number);
  return [...DEFAULT_RETRY_POLICY.delaysMs];
}

/**
 * How long a message that fails every attempt takes from its first attempt to its last
 * (without jitter): the service's retry budget. An outage longer than this would
 * dead-letter every message it caught if failing spent attempts.
 */
export function retryBudgetMs(profile: FaultProfile, service: ServiceName): number {
  const env = { ...profile.env, ...profile.serviceEnv[service] };
  const attempts = Number(env.RETRY_MAX_ATTEMPTS ?? DEFAULT_RETRY_POLICY.maxAttempts);
  const delays = retryDelays(profile);
  let total = 0;
  for (let n = 1; n < attempts; n++) total += delays[Math.min(n, delays.length) - 1] ?? 0;
  return total;
}

/** An outage that outlasts the largest retry budget of `services` by the profile's margin. */
export function beyondRetryBudgetMs(profile: FaultProfile, services: readonly ServiceName[]): number {
  return Math.max(...services.map((s) => retryBudgetMs(profile, s))) + profile.beyondBudgetMs;
}

/**
 * The check an outage row closes with: no message was dead-lettered (parked by the order
 * API, or still in a dead-letter queue) since the row started, except the row's own
 * poison messages (`expected`). Every order's effects are counted besides; this says the
 * outage spent no message's attempts.
 */
export async function nothingDeadLettered(
  ctx: ScenarioContext,
  since: number,
  expected: ReadonlySet<string> = new Set(),
): Promise<Check> {
  const parked = (await deadLetteredSince(ctx.pool, new Date(since))).filter(
    (l) => !expected.has(l.messageId),
  );
  const queues = await ctx.broker.queues().catch(() => undefined);
  const waiting = (queues ?? []).filter((q) => q.name.endsWith('.dlq') && q.messages > 0);
  const ok = queues !== undefined && parked.length === 0 && waiting.length === 0;
  const detail = ok
    ? 'none parked since the row started, every dead-letter queue empty'
    : [
        queues === undefined ? 'queues not readable' : '',
        parked.length
          ? `${parked.length} parked: ${parked
              .slice(0, 5)
              .map((l) => `${l.queue} ${l.reason}`)
              .join(', ')}`
          : '',
        waiting.map((q) => `${q.name}:${q.messages}`).join(' '),
      ]
        .filter(Boolean)
        .join('; ');
  return check('nothing dead-lettered', ok, detail);
}

interface Readyz {
  readonly reasons?: Record<string, string>;
}

/**
 * Watches the services' /readyz while an outage lasts and remembers, per service, the
 * first consumer reason it reported (e.g. `database unavailable: ...`). `stop` ends it.
 */
export function watchConsumerReasons(ctx: ScenarioContext, services: readonly ServiceName[]) {
  const seen = new Map<ServiceName, string>();
  let watching = true;
  const loop = (async () => {
    while (watching) {
      await Promise.all(
        services
          .filter((s) => !seen.has(s))
          .map(async (s) => {
            try {
              const r = await fetch(`${ctx.system.stack.get(s).opsUrl}/readyz`, {
                signal: AbortSignal.timeout(2_000),
              });
              const reason = ((await r.json()) as Readyz).reasons?.consumer;
              if (r.status === 503 && reason) seen.set(s, reason);
            } catch {
              // frozen, restarting or busy: asked again
            }
          }),
      );
      await sleep(500);
    }
  })();
  return {
    seen,
    async stop(): Promise<Map<ServiceName, string>> {
      watching = false;
      await loop;
      return seen;
    },
  };
}

/** A check that every service in `services` reported its consumer paused for `dependency`. */
export function pausedFor(
  seen: ReadonlyMap<ServiceName, string>,
  services: readonly ServiceName[],
  dependency: (s: ServiceName) => string,
): Check {
  const wrong = services.filter((s) => !seen.get(s)?.startsWith(`${dependency(s)} unavailable`));
  return check(
    'consumption paused naming the dependency (/readyz not ready)',
    wrong.length === 0,
    services.map((s) => `${s}: ${(seen.get(s) ?? 'never reported').slice(0, 60)}`).join('; '),
  );
}
