import {
  acceptedBetween,
  clientNote,
  everyServiceReady,
  loadAroundFault,
  outage,
} from './load-and-recovery.js';
import { check } from './scenario.js';
import type { Scenario } from './scenario.js';

export const brokerStopStart: Scenario = {
  id: 1,
  title: 'RabbitMQ stop_app / start_app mid-load',
  async run(ctx) {
    const load = loadAroundFault(ctx);
    await load.warmedUp();
    const node = ctx.broker.nodes[0]!;
    ctx.log(`stop_app on ${node.nodeName} for ${ctx.profile.brokerDownMs} ms`);
    let faultStart = Date.now();
    let down = 0;
    await outage(
      ctx.profile.brokerDownMs,
      async () => {
        await node.stopApp();
        faultStart = Date.now();
      },
      async () => {
        down = Date.now();
        await node.startApp();
      },
    );
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
        await everyServiceReady(ctx),
      ],
      notes: [clientNote(orders)],
    };
  },
};
