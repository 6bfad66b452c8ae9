import {
  beyondRetryBudgetMs,
  clientNote,
  everyServiceReady,
  loadAroundFault,
  nothingDeadLettered,
  outage,
  pausedFor,
  sendBoundMs,
  watchConsumerReasons,
} from './load-and-recovery.js';
import type { Scenario } from './scenario.js';

const SENDERS = ['email', 'whatsapp'] as const;

/**
 * The SMTP server and Twilio unreachable (the lines to both stand-ins cut: connecting is
 * refused, live connections drop) for longer than the email and WhatsApp services' whole
 * retry budget, with orders flowing. Failing into the retry path would dead-letter every
 * mail and message of the outage; both services must pause, naming their provider, and
 * send everything once the lines are back.
 */
export const providerOutage: Scenario = {
  id: 11,
  title: 'SMTP and Twilio unreachable longer than the retry budget',
  async run(ctx) {
    const rowStart = Date.now();
    const downMs = beyondRetryBudgetMs(ctx.profile, SENDERS);
    const load = loadAroundFault(ctx);
    await load.warmedUp();
    const watch = watchConsumerReasons(ctx, SENDERS);
    const cutAt = Date.now();
    ctx.log(`lines to the SMTP and Twilio stand-ins cut for ${downMs} ms`);
    await outage(
      downMs,
      () => Promise.all([ctx.lines.smtp.cut(), ctx.lines.twilio.cut()]).then(() => undefined),
      () => Promise.all([ctx.lines.smtp.restore(), ctx.lines.twilio.restore()]).then(() => undefined),
    );
    const faultEnd = Date.now();
    const seen = await watch.stop();
    const orders = await load.finish();
    return {
      orders,
      faultEnd,
      // A provider answer on its way when the line was cut is lost, and the send retried.
      windows: SENDERS.map((effect) => ({
        effect,
        from: cutAt - sendBoundMs(ctx.profile, effect),
        to: cutAt + 1_000,
        cause: 'the provider line cut between the provider accepting and its answer arriving',
      })),
      checks: [
        pausedFor(seen, SENDERS, (s) => (s === 'email' ? 'smtp' : 'twilio')),
        await everyServiceReady(ctx),
      ],
      notes: [
        `providers unreachable ${(downMs / 1000).toFixed(0)} s (longest retry budget + margin)`,
        clientNote(orders),
      ],
      closing: async () => [await nothingDeadLettered(ctx, rowStart)],
    };
  },
};
