import { setTimeout as sleep } from 'node:timers/promises';
import { CHANNELS, channelConsumers } from '@notify/contracts';
import {
  answered503WhileDown,
  beyondRetryBudgetMs,
  clientNote,
  databaseOutageWindows,
  everyServiceReady,
  loadAroundFault,
  nothingDeadLettered,
  pausedFor,
  watchConsumerReasons,
} from './load-and-recovery.js';
import { check } from './scenario.js';
import type { Scenario } from './scenario.js';

/**
 * PostgreSQL down for longer than every service's whole retry budget, with a backlog in
 * every work queue when it goes: the five consumers are frozen (SIGSTOP) while orders
 * flow, the database crashes, and they are thawed into the outage. Failing into the retry
 * path would dead-letter the whole backlog; every consumer must pause instead, naming the
 * database, and finish every message once it is back.
 */
export const databaseLongOutage: Scenario = {
  id: 10,
  title: 'PostgreSQL down longer than the retry budget, backlog in every queue',
  async run(ctx) {
    const rowStart = Date.now();
    const downMs = beyondRetryBudgetMs(ctx.profile, CHANNELS);
    const load = loadAroundFault(ctx);
    await load.warmedUp();

    ctx.log(`consumers frozen for ${ctx.profile.backlogMs} ms while orders flow`);
    ctx.system.freeze(CHANNELS);
    let backlog = '';
    let everyQueue = false;
    let faultStart = Date.now();
    let faultEnd = faultStart;
    const watch = watchConsumerReasons(ctx, CHANNELS);
    try {
      await sleep(ctx.profile.backlogMs);
      // The relay needs a moment to publish what was accepted last; then every queue has work.
      const deadline = Date.now() + 30_000;
      for (;;) {
        const queues = await ctx.broker.queues().catch(() => []);
        const depth = CHANNELS.map((c) => ({
          c,
          n: queues.find((q) => q.name === channelConsumers[c].queue.name)?.messages ?? 0,
        }));
        backlog = depth.map((d) => `${d.c}:${d.n}`).join(' ');
        everyQueue = depth.every((d) => d.n > 0);
        if (everyQueue || Date.now() > deadline) break;
        await sleep(500);
      }
      faultStart = Date.now();
      ctx.log(`backlog ${backlog}; PostgreSQL crash (immediate stop) for ${downMs} ms`);
      await ctx.database.crash();
    } finally {
      ctx.system.thaw(CHANNELS);
    }
    try {
      await sleep(downMs);
    } finally {
      await ctx.database.startAgain();
      faultEnd = Date.now();
    }
    const seen = await watch.stop();
    const orders = await load.finish();
    return {
      orders,
      faultEnd,
      windows: databaseOutageWindows(ctx.profile, faultStart, faultEnd),
      checks: [
        check('a backlog in every work queue when the database went down', everyQueue, backlog),
        answered503WhileDown(orders),
        pausedFor(seen, CHANNELS, () => 'database'),
        await everyServiceReady(ctx),
      ],
      notes: [
        `database down ${(downMs / 1000).toFixed(0)} s (longest retry budget + margin)`,
        clientNote(orders),
      ],
      closing: async () => [await nothingDeadLettered(ctx, rowStart)],
    };
  },
};
