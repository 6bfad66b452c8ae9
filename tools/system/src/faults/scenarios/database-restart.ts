import {
  acceptedBetween,
  answered503WhileDown,
  clientNote,
  databaseOutageWindows,
  everyServiceReady,
  loadAroundFault,
  outage,
} from './load-and-recovery.js';
import { check } from './scenario.js';
import type { Scenario } from './scenario.js';

export const databaseRestart: Scenario = {
  id: 4,
  title: 'PostgreSQL restarted under load',
  async run(ctx) {
    const api = ctx.system.stack.get('order-api');
    const apiStarts = api.starts;
    const load = loadAroundFault(ctx);
    await load.warmedUp();
    const faultStart = Date.now();
    ctx.log(`PostgreSQL crash (immediate stop) for ${ctx.profile.databaseDownMs} ms`);
    await outage(
      ctx.profile.databaseDownMs,
      () => ctx.database.crash(),
      () => ctx.database.startAgain(),
    );
    const faultEnd = Date.now();
    const orders = await load.finish();
    const after = acceptedBetween(orders, faultEnd, Number.MAX_SAFE_INTEGER);
    return {
      orders,
      faultEnd,
      windows: databaseOutageWindows(ctx.profile, faultStart, faultEnd),
      checks: [
        answered503WhileDown(orders),
        check(
          'the API recovered by itself',
          after > 0 && api.starts === apiStarts && api.running,
          `${after} orders accepted after the restart, API process never restarted`,
        ),
        await everyServiceReady(ctx),
      ],
      notes: [clientNote(orders)],
    };
  },
};
