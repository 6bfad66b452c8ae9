import { setTimeout as sleep } from 'node:timers/promises';
import { channelConsumers } from '@notify/contracts';
import { WINDOW_PREFETCH } from '@notify/service-kit';
import type { PlacedOrder } from '../order-traffic.js';
import type { QueueDepth } from '../private-rabbitmq.js';
import { RawAmqp } from '../raw-amqp.js';
import { clientNote, retryDelays, traffic } from './load-and-recovery.js';
import { check } from './scenario.js';
import type { Check, Scenario } from './scenario.js';

const EMAIL_QUEUE = channelConsumers.email.queue.name;
const WHATSAPP_QUEUE = channelConsumers.whatsapp.queue.name;

export const slowProvider: Scenario = {
  id: 7,
  title: 'slow SMTP, Twilio answering 429',
  async run(ctx) {
    const { profile } = ctx;
    const raw = await RawAmqp.connect(ctx.broker.directUrl());
    const tap = await raw.tapEvents(['whatsapp.retrying', 'email.retrying']);
    const rssBefore = (await ctx.system.rss()).email ?? 0;
    ctx.mail.setBehaviour({ delayMs: profile.slowSmtpDelayMs });
    ctx.sandbox.setBehaviour({ failNext: { count: profile.twilio429s, status: 429 } });
    const attemptsBefore = ctx.sandbox.attempts();
    ctx.log(
      `SMTP answers after ${profile.slowSmtpDelayMs} ms; Twilio answers 429 ${profile.twilio429s} times`,
    );
    let sampling = true;
    let maxUnacked = { email: 0, whatsapp: 0 };
    let maxReady = 0;
    let maxRss = rssBefore;
    const sampler = (async () => {
      while (sampling) {
        const q = await ctx.broker.queues().catch(() => [] as QueueDepth[]);
        const of = (n: string) => q.find((x) => x.name === n);
        maxUnacked = {
          email: Math.max(maxUnacked.email, of(EMAIL_QUEUE)?.unacked ?? 0),
          whatsapp: Math.max(maxUnacked.whatsapp, of(WHATSAPP_QUEUE)?.unacked ?? 0),
        };
        maxReady = Math.max(maxReady, of(EMAIL_QUEUE)?.ready ?? 0);
        maxRss = Math.max(maxRss, (await ctx.system.rss()).email ?? 0);
        await sleep(1_000);
      }
    })();
    let orders: PlacedOrder[] = [];
    let faultEnd = Date.now();
    try {
      const load = traffic(ctx, { count: profile.slowOrders });
      orders = await load.done;
      // The provider recovers once the load is in and every 429 has been served.
      const deadline = Date.now() + profile.settleTimeoutMs;
      while ((ctx.sandbox.behaviour().failNext?.count ?? 0) > 0 && Date.now() < deadline) await sleep(500);
    } finally {
      ctx.mail.setBehaviour({});
      ctx.sandbox.setBehaviour({});
      faultEnd = Date.now();
    }
    const settle = async (): Promise<Check[]> => {
      sampling = false;
      await sampler;
      await raw.close();
      const delays = retryDelays(profile);
      const byOrder = new Map<string, { attempt: number; delayMs: number }[]>();
      for (const e of tap.events) {
        const b = e.body as { orderId?: string; attempt?: number; delayMs?: number } | undefined;
        if (!b?.orderId || b.attempt === undefined || b.delayMs === undefined) continue;
        const list = byOrder.get(`${e.key}:${b.orderId}`) ?? [];
        list.push({ attempt: b.attempt, delayMs: b.delayMs });
        byOrder.set(`${e.key}:${b.orderId}`, list);
      }
      let violations = 0;
      let retried = 0;
      for (const list of byOrder.values()) {
        retried++;
        for (const r of list) {
          const base = delays[Math.min(r.attempt, delays.length) - 1] ?? 0;
          if (r.delayMs < base * 0.79 || r.delayMs > base * 1.21) violations++;
        }
      }
      // Email and whatsapp settle in windows, whose default prefetch is WINDOW_PREFETCH.
      const prefetchBound = Number(profile.env.PREFETCH ?? WINDOW_PREFETCH);
      const growth = maxRss - rssBefore;
      return [
        check(
          'Twilio 429s were served and retried',
          ctx.sandbox.attempts() - attemptsBefore >= profile.twilio429s,
          `${ctx.sandbox.attempts() - attemptsBefore} create requests for ${orders.length} orders`,
        ),
        check(
          'retries back off (delay follows the policy for each attempt)',
          retried > 0 && violations === 0,
          `${tap.events.length} retry events over ${retried} messages, ${violations} off-policy`,
        ),
        check(
          'unacknowledged messages bounded by prefetch',
          maxUnacked.email <= prefetchBound && maxUnacked.whatsapp <= prefetchBound,
          `max unacked email ${maxUnacked.email}, whatsapp ${maxUnacked.whatsapp} (prefetch <= ${prefetchBound}); email backlog peaked at ${maxReady}`,
        ),
        check(
          'email service memory bounded while SMTP is slow',
          growth < 96 * 1024 * 1024,
          `RSS ${(rssBefore / 2 ** 20).toFixed(0)} -> max ${(maxRss / 2 ** 20).toFixed(0)} MiB`,
        ),
      ];
    };
    return { orders, faultEnd, windows: [], checks: [], notes: [clientNote(orders)], settle };
  },
};
