import { CHANNELS } from '@notify/contracts';
import type { ServiceName } from '@notify/contracts';
import type { CrashWindow } from '../effect-audit.js';
import { clientNote, everyServiceReady, loadAroundFault, sendBoundMs } from './load-and-recovery.js';
import type { Scenario } from './scenario.js';

export const killServices: Scenario = {
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
      checks: [await everyServiceReady(ctx, killed.join(', '))],
      notes: [clientNote(orders)],
    };
  },
};
