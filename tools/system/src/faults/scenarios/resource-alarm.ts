import { setTimeout as sleep } from 'node:timers/promises';
import { outboxBacklog } from '../effect-snapshot.js';
import { acceptedBetween, clientNote, everyServiceReady, loadAroundFault } from './load-and-recovery.js';
import { check } from './scenario.js';
import type { Check, Scenario } from './scenario.js';

export const resourceAlarm: Scenario = {
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
    checks.push(await everyServiceReady(ctx));
    return { orders, faultEnd, windows: [], checks, notes: [clientNote(orders)] };
  },
};
