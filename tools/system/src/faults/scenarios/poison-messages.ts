import { setTimeout as sleep } from 'node:timers/promises';
import { CHANNELS, channelConsumers } from '@notify/contracts';
import { schemaOf } from '../../services.js';
import { takeParkedLetters } from '../parked-letters.js';
import { RawAmqp } from '../raw-amqp.js';
import type { DeadLetter } from '../raw-amqp.js';
import { clientNote, loadAroundFault } from './load-and-recovery.js';
import { isPoison, poisonMessages } from './poison-message-specs.js';
import type { PoisonSpec } from './poison-message-specs.js';
import { check } from './scenario.js';
import type { Check, Scenario } from './scenario.js';

export const poisonMessagesScenario: Scenario = {
  id: 6,
  title: 'poison messages amid good traffic',
  async run(ctx) {
    const rejectedEmail = `poison-${ctx.runTag}@example.com`;
    const rejectedPhone = '+15005550009';
    ctx.mail.setBehaviour({ rejectRecipients: [rejectedEmail] });
    ctx.sandbox.setBehaviour({ rejectNumbers: [`whatsapp:${rejectedPhone}`] });
    const raw = await RawAmqp.connect(ctx.broker.directUrl());
    const specs = poisonMessages(ctx.runTag, rejectedEmail, rejectedPhone);
    const load = loadAroundFault(ctx);
    await load.warmedUp();
    const poisonedAt = Date.now();
    ctx.log(`publishing ${specs.length} poison messages straight to the exchange`);
    for (const s of specs) await raw.publishNotification({ routingKey: s.channel, ...s.message });
    await load.more();
    const orders = await load.finish();
    const found = new Map<PoisonSpec, DeadLetter>();

    const settle = async (): Promise<Check[]> => {
      const deadline = Date.now() + ctx.profile.settleTimeoutMs;
      while (found.size < specs.length && Date.now() < deadline) {
        for (const c of CHANNELS) {
          const queue = channelConsumers[c].deadLetterQueue.name;
          const letters = [
            ...(await raw.drainDeadLetters(queue)),
            ...(await takeParkedLetters(ctx.pool, queue)),
          ];
          for (const d of letters) {
            const spec = specs.find((s) => s.channel === c && isPoison(s, d));
            if (spec) found.set(spec, d);
          }
        }
        if (found.size < specs.length) await sleep(1_000);
      }
      await raw.close();
      ctx.mail.setBehaviour({});
      ctx.sandbox.setBehaviour({});
      const checks = specs.map((s) => {
        const d = found.get(s);
        return check(
          `dead-lettered: ${s.label}`,
          d !== undefined && d.reason === s.reason,
          d ? `${d.queue} ${d.reason}` : 'not in its dead-letter queue',
        );
      });
      // The always-failing payment sat in the retry queues; good payments must not have waited for it.
      const stuck = specs.find((s) => s.reason === 'max-attempts-exceeded');
      const stuckAt = stuck ? found.get(stuck)?.at : undefined;
      const later = orders.filter(
        (o) => o.acceptedAt !== undefined && o.acceptedAt > poisonedAt && o.orderId,
      );
      if (stuckAt !== undefined && later.length) {
        const r = await ctx.pool.query<{ n: string }>(
          `SELECT count(*) AS n FROM ${schemaOf('payment')}.payments WHERE order_id = ANY($1::uuid[]) AND decided_at < $2`,
          [later.map((o) => o.orderId), new Date(stuckAt)],
        );
        const n = Number(r.rows[0]?.n ?? 0);
        checks.push(
          check(
            'good payments overtook the retrying poison',
            n === later.length,
            `${n} of ${later.length} later orders authorised before the poison was dead-lettered`,
          ),
        );
      }
      return checks;
    };
    return {
      orders,
      faultEnd: poisonedAt,
      windows: [],
      checks: [],
      notes: [`${specs.length} poison messages`, clientNote(orders)],
      settle,
    };
  },
};
