import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { channelConsumers, EXCHANGES, UNROUTABLE_QUEUE } from '@notify/contracts';
import { parkedUnroutable } from '../parked-letters.js';
import { RawAmqp } from '../raw-amqp.js';
import { clientNote, everyServiceReady, loadAroundFault, nothingDeadLettered } from './load-and-recovery.js';
import { check } from './scenario.js';
import type { Scenario, ScenarioContext } from './scenario.js';

const CHANNEL = 'logistic';

/** Unroutable messages not yet replayed: parked by the order API, or still in the broker's queue. */
async function unroutableLeft(ctx: ScenarioContext): Promise<number> {
  const queues = await ctx.broker.queues().catch(() => []);
  const inQueue = queues.find((q) => q.name === UNROUTABLE_QUEUE.name)?.messages ?? 0;
  return inQueue + (await parkedUnroutable(ctx.pool));
}

/**
 * One channel's binding removed (`notification` -> `logistic`, as a half-applied
 * deployment or an operator's slip would leave it) while orders flow, then restored. The
 * relay's publishes for that channel are not bounced: `notification`'s alternate
 * exchange takes them into the unroutable queue, where the order API parks them and says
 * so (a warning naming the routing key, a metric). Once the binding is back the operator
 * replays them (`POST /dead-letters/unroutable/replay`) and every order gets its shipment,
 * once.
 */
export const bindingRemoved: Scenario = {
  id: 13,
  title: "one channel's binding removed and restored, unroutable replayed",
  async run(ctx) {
    const rowStart = Date.now();
    const binding = channelConsumers[CHANNEL].bindings.find(
      (b) => b.exchange === EXCHANGES.notification.name,
    )!;
    const raw = await RawAmqp.connect(ctx.broker.directUrl());
    const load = loadAroundFault(ctx);
    let parked = 0;
    let faultEnd = Date.now();
    try {
      await load.warmedUp();
      ctx.log(`binding ${binding.exchange} -> ${binding.queue} (${binding.routingKey}) removed`);
      await raw.unbindQueue(binding);
      try {
        await load.more();
        const deadline = Date.now() + 60_000;
        while (parked === 0 && Date.now() < deadline) {
          await sleep(500);
          parked = await parkedUnroutable(ctx.pool);
        }
      } finally {
        await raw.bindQueue(binding);
        faultEnd = Date.now();
        ctx.log(`binding restored; ${parked} unroutable messages parked so far`);
      }
    } finally {
      await raw.close();
    }

    // The operator replays what was parked; a message the drain parks late is replayed on the next pass.
    let replayed = 0;
    let left = await unroutableLeft(ctx);
    const refusals: string[] = [];
    const deadline = Date.now() + 120_000;
    while (left > 0 && Date.now() < deadline) {
      const r = await fetch(`${ctx.system.apiUrl}/dead-letters/unroutable/replay`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ all: true }),
        signal: AbortSignal.timeout(30_000),
      }).catch((err: Error) => err);
      if (r instanceof Error) refusals.push(r.message);
      else if (r.status !== 200) refusals.push(`${r.status}`);
      else replayed += ((await r.json()) as { replayed: unknown[] }).replayed.length;
      await sleep(1_000);
      left = await unroutableLeft(ctx);
    }
    const orders = await load.finish();
    const log = await readFile(join(ctx.system.options.logDir, 'order-api.log'), 'utf8').catch(() => '');
    const warned =
      log.includes(`no queue is bound to \\"${CHANNEL}\\"`) ||
      log.includes(`no queue is bound to "${CHANNEL}"`);
    return {
      orders,
      faultEnd,
      windows: [],
      checks: [
        check('publishes without a binding were parked as unroutable', parked > 0, `${parked} parked`),
        check(
          'the order API warned naming the routing key',
          warned,
          warned ? `"${CHANNEL}" in its log` : 'no warning found',
        ),
        check(
          'every unroutable message replayed once the binding was back',
          left === 0 && replayed >= parked,
          `${replayed} replayed, ${left} left${refusals.length ? `; replay refused: ${refusals.slice(0, 3).join(', ')}` : ''}`,
        ),
        await everyServiceReady(ctx),
      ],
      notes: [clientNote(orders)],
      closing: async () => [await nothingDeadLettered(ctx, rowStart)],
    };
  },
};
