import { setTimeout as sleep } from 'node:timers/promises';
import { CHANNELS } from '@notify/contracts';
import type pg from 'pg';
import { schemaOf } from '../../services.js';
import { RawAmqp } from '../raw-amqp.js';
import { clientNote, loadAroundFault, nothingDeadLettered } from './load-and-recovery.js';
import { poisonMessages } from './poison-message-specs.js';
import { check } from './scenario.js';
import type { Check, Scenario } from './scenario.js';

/** Everything the park keeps of the given letters, as one comparable text. */
async function parkedRows(
  pool: pg.Pool,
  messageIds: readonly string[],
): Promise<{ n: number; text: string }> {
  const { rows } = await pool.query<Record<string, unknown>>(
    `SELECT id::text, queue, message_id, exchange, routing_key, properties, headers, encode(body, 'hex') AS body,
       reason, detail, dead_lettered_at, first_death, attempts, replays, published_by, parked_at
     FROM ${schemaOf('order-api')}.parked_letters WHERE message_id = ANY($1::text[]) ORDER BY id`,
    [messageIds],
  );
  return { n: rows.length, text: JSON.stringify(rows) };
}

/**
 * Looking never changes anything: with dead letters parked (the invalid messages of the
 * poison scenario, one of each kind per channel) and orders flowing, an operator lists
 * the dead letters many times over, the summary and every service's page in turn. Every
 * letter must stay exactly as it was (same row, headers, replay count), the broker's
 * dead-letter queues stay empty, and the traffic loses and duplicates nothing.
 */
export const deadLetterListings: Scenario = {
  id: 12,
  title: 'dead letters listed a hundred times while orders flow',
  async run(ctx) {
    const rowStart = Date.now();
    const listings = ctx.profile.deadLetterListings;
    const specs = poisonMessages(`${ctx.runTag}-look`, 'unused@example.com', '+15005550009').filter(
      (s) => s.reason === 'invalid-json' || s.reason === 'invalid-message',
    );
    const ids = specs.map((s) => s.message.messageId!);
    const raw = await RawAmqp.connect(ctx.broker.directUrl());
    try {
      for (const s of specs) await raw.publishNotification({ routingKey: s.channel, ...s.message });
    } finally {
      await raw.close();
    }
    const deadline = Date.now() + 60_000;
    let before = await parkedRows(ctx.pool, ids);
    while (before.n < ids.length && Date.now() < deadline) {
      await sleep(500);
      before = await parkedRows(ctx.pool, ids);
    }
    ctx.log(`${before.n} of ${ids.length} letters parked; listing them ${listings} times while orders flow`);

    const load = loadAroundFault(ctx);
    await load.warmedUp();
    const faultStart = Date.now();
    const pages = ['', ...CHANNELS.map((c) => `/${c}`)];
    const refused: string[] = [];
    let listed = 0;
    for (let i = 0; i < listings; i++) {
      const path = `/dead-letters${pages[i % pages.length]}`;
      try {
        const r = await fetch(`${ctx.system.apiUrl}${path}`, { signal: AbortSignal.timeout(10_000) });
        await r.arrayBuffer();
        if (r.status === 200) listed++;
        else refused.push(`${path} ${r.status}`);
      } catch (err) {
        refused.push(`${path} ${(err as Error).message}`);
      }
    }
    const faultEnd = Date.now();
    const after = await parkedRows(ctx.pool, ids);
    const orders = await load.finish();
    const checks: Check[] = [
      check(
        'every poison message parked before the listings',
        before.n === ids.length,
        `${before.n} of ${ids.length}`,
      ),
      check(
        'every listing answered 200',
        listed === listings,
        `${listed} of ${listings} in ${((faultEnd - faultStart) / 1000).toFixed(1)} s${refused.length ? `; ${refused.slice(0, 3).join(', ')}` : ''}`,
      ),
      check(
        'every listed letter exactly as it was (row, headers, replay count)',
        after.n === before.n && after.text === before.text,
        `${after.n} letters after, ${before.n} before${after.text === before.text ? ', unchanged' : ', CHANGED'}`,
      ),
    ];
    return {
      orders,
      faultEnd,
      windows: [],
      checks,
      notes: [`${ids.length} parked letters, ${listings} listings`, clientNote(orders)],
      closing: async () => {
        const result = await nothingDeadLettered(ctx, rowStart, new Set(ids));
        // The row's own letters leave the park, so later rows start from an empty one.
        await ctx.pool.query(
          `DELETE FROM ${schemaOf('order-api')}.parked_letters WHERE message_id = ANY($1::text[])`,
          [ids],
        );
        return [result];
      },
    };
  },
};
