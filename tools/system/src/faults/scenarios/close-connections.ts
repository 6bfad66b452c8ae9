import { acceptedBetween, clientNote, everyServiceReady, loadAroundFault } from './load-and-recovery.js';
import { check } from './scenario.js';
import type { Scenario } from './scenario.js';

export const closeConnections: Scenario = {
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
        await everyServiceReady(ctx),
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
