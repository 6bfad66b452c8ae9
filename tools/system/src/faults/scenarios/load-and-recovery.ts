import { setTimeout as sleep } from 'node:timers/promises';
import type { CrashWindow } from '../effect-audit.js';
import type { FaultProfile } from '../fault-profiles.js';
import { answerCounts, longestAcceptGap, startTraffic } from '../order-traffic.js';
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
