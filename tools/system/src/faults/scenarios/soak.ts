import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ServiceName } from '@notify/contracts';
import { outboxBacklog } from '../effect-snapshot.js';
import type { QueueDepth } from '../private-rabbitmq.js';
import { clientNote, traffic } from './load-and-recovery.js';
import { check } from './scenario.js';
import type { Check, Scenario } from './scenario.js';

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : 0;
}

/** The deepest queues of a sample, deepest first, as `name:depth`. */
function busiest(queues: Readonly<Record<string, number>>, n: number): string {
  const top = Object.entries(queues)
    .filter(([, depth]) => depth > 0)
    .sort((a, b) => b[1] - a[1])
    .slice(0, n);
  return top.length ? top.map(([name, depth]) => `${name}:${depth}`).join(' ') : 'queues empty';
}

/** The largest depth each queue reached across samples. */
function peakPerQueue(
  samples: readonly { queues: Readonly<Record<string, number>> }[],
): Record<string, number> {
  const peak: Record<string, number> = {};
  for (const s of samples)
    for (const [name, depth] of Object.entries(s.queues)) peak[name] = Math.max(peak[name] ?? 0, depth);
  return peak;
}

export const soak: Scenario = {
  id: 9,
  title: `soak at a constant rate`,
  async run(ctx) {
    const { profile } = ctx;
    const count = Math.round((profile.soakMs / 1000) * profile.soakRate);
    const load = traffic(ctx, { count, ratePerSecond: profile.soakRate, maxDurationMs: profile.soakMs });
    const samples: {
      at: number;
      rss: Partial<Record<ServiceName, number>>;
      depth: number;
      /** Messages per in-flight queue, so a growing backlog names the consumer behind it. */
      queues: Record<string, number>;
      outbox: number;
    }[] = [];
    const started = Date.now();
    let sampling = true;
    // The stand-ins (SMTP, Twilio) live in this process: a starved event loop here slows
    // every SMTP round trip, so the log shows its delay next to the queue depths.
    const loop = monitorEventLoopDelay({ resolution: 20 });
    loop.enable();
    const sampler = (async () => {
      while (sampling) {
        const q = await ctx.broker.queues().catch(() => [] as QueueDepth[]);
        const inFlight = q.filter((x) => ctx.inFlightQueue(x.name));
        const queues = Object.fromEntries(inFlight.map((x) => [x.name, x.messages]));
        const depth = inFlight.reduce((n, x) => n + x.messages, 0);
        const outbox = await outboxBacklog(ctx.pool);
        samples.push({ at: Date.now(), rss: await ctx.system.rss(), depth, queues, outbox });
        const lagMs = loop.percentile(99) / 1e6;
        loop.reset();
        ctx.log(
          `soak +${Math.round((Date.now() - started) / 1000)}s: outbox ${outbox}, ${busiest(queues, 4)}; ` +
            `harness event loop p99 ${lagMs.toFixed(0)} ms`,
        );
        await sleep(10_000);
      }
    })();
    const orders = await load.done;
    sampling = false;
    await sampler;
    loop.disable();
    // The first minute is warm-up (JIT, pools, caches); compare the rest's first and last thirds.
    const steady = samples.filter((s) => s.at - started >= 60_000);
    const third = Math.max(1, Math.floor(steady.length / 3));
    const head = steady.slice(0, third);
    const tail = steady.slice(-third);
    const checks: Check[] = [];
    for (const name of ctx.system.stack.processes.keys()) {
      const a = median(head.map((s) => s.rss[name] ?? 0));
      const b = median(tail.map((s) => s.rss[name] ?? 0));
      checks.push(
        check(
          `${name} memory flat`,
          steady.length >= 3 && b <= a * 1.25 + 32 * 2 ** 20,
          `RSS median ${(a / 2 ** 20).toFixed(0)} -> ${(b / 2 ** 20).toFixed(0)} MiB`,
        ),
      );
    }
    const headDepth = Math.max(0, ...head.map((s) => s.depth));
    const tailDepth = Math.max(0, ...tail.map((s) => s.depth));
    const maxOutbox = Math.max(0, ...samples.map((s) => s.outbox));
    checks.push(
      check(
        'queue depths bounded',
        tailDepth <= Math.max(100, headDepth * 2),
        `max depth early ${headDepth}, late ${tailDepth}; outbox backlog max ${maxOutbox}; ` +
          `late: ${busiest(peakPerQueue(tail), 3)}`,
      ),
    );
    return {
      orders,
      windows: [],
      checks,
      notes: [
        `${samples.length} samples over ${((Date.now() - started) / 60_000).toFixed(1)} min`,
        clientNote(orders),
      ],
    };
  },
};
