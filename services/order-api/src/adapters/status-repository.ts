import type { Channel } from '@notify/contracts';
import { withTransaction } from '@notify/service-kit';
import type { Pool, PoolClient } from '@notify/service-kit';
import { applyChannelEvent, replayedChannel } from '../domain/channel-progress.js';
import type { ChannelSnapshot } from '../domain/channel-progress.js';
import type { ApplyResult, ChannelStatusStore } from '../status/apply-outcome.js';
import type { ChannelUpdate } from '../status/outcome-events.js';

const LOCK_SQL = `
SELECT state, attempts, details, message_id FROM notification_states
WHERE order_id = $1 AND channel = $2
FOR UPDATE`;

const SAVE_SQL = `
UPDATE notification_states
SET state = $3, attempts = $4, details = $5::jsonb, updated_at = clock_timestamp()
WHERE order_id = $1 AND channel = $2`;

// A window's rows, locked in one statement in a fixed order, so two consumers locking
// overlapping windows wait for each other instead of deadlocking.
const LOCK_MANY_SQL = `
SELECT s.order_id::text AS order_id, s.channel, s.state, s.attempts, s.details, s.message_id
FROM notification_states s
JOIN unnest($1::uuid[], $2::text[]) AS w (order_id, channel)
  ON s.order_id = w.order_id AND s.channel = w.channel
ORDER BY s.order_id, s.channel
FOR UPDATE OF s`;

const SAVE_MANY_SQL = `
UPDATE notification_states s
SET state = w.state, attempts = w.attempts, details = w.details, updated_at = clock_timestamp()
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[], $5::jsonb[]) AS w (order_id, channel, state, attempts, details)
WHERE s.order_id = w.order_id AND s.channel = w.channel`;

interface LockedRow extends ChannelSnapshot {
  readonly message_id: string;
}

interface Locked {
  readonly snapshot: ChannelSnapshot;
  readonly messageId: string;
}

/**
 * Channel states in PostgreSQL. Each change reads the row under a lock, works out the
 * next state with the pure rules of channel-progress.ts and writes it back only when
 * something changed; two events of one channel are applied one after the other, so
 * the monotonic rule holds under any concurrency.
 */
export class StatusRepository implements ChannelStatusStore {
  constructor(private readonly pool: Pool) {}

  apply(update: ChannelUpdate): Promise<ApplyResult> {
    return withTransaction(this.pool, async (client) => {
      const cur = await lock(client, update.orderId, update.channel);
      if (!cur) return 'unknown-order';
      const next = applyChannelEvent(cur.snapshot, update.event);
      if (!next) return 'unchanged';
      await save(client, update.orderId, update.channel, next);
      return 'applied';
    });
  }

  /**
   * The window's updates in one transaction: one statement locks every row they touch,
   * the pure rules fold each update into its row in order, and one statement writes the
   * rows that changed.
   */
  applyAll(updates: readonly ChannelUpdate[]): Promise<readonly ApplyResult[]> {
    if (updates.length === 0) return Promise.resolve([]);
    return withTransaction(this.pool, async (client) => {
      const keys = [...new Map(updates.map((u) => [keyOf(u.orderId, u.channel), u])).values()];
      const { rows } = await client.query<LockedRow & { order_id: string; channel: Channel }>({
        name: 'order-api-lock-channels',
        text: LOCK_MANY_SQL,
        values: [keys.map((u) => u.orderId), keys.map((u) => u.channel)],
      });
      const current = new Map<string, ChannelSnapshot>(
        rows.map((r) => [
          keyOf(r.order_id, r.channel),
          { state: r.state, attempts: r.attempts, details: r.details },
        ]),
      );
      const changed = new Set<string>();
      const results = updates.map((u): ApplyResult => {
        const key = keyOf(u.orderId, u.channel);
        const cur = current.get(key);
        if (!cur) return 'unknown-order';
        const next = applyChannelEvent(cur, u.event);
        if (!next) return 'unchanged';
        current.set(key, next);
        changed.add(key);
        return 'applied';
      });
      if (changed.size > 0) {
        const saved = keys.filter((u) => changed.has(keyOf(u.orderId, u.channel)));
        const states = saved.map((u) => current.get(keyOf(u.orderId, u.channel))!);
        await client.query({
          name: 'order-api-save-channels',
          text: SAVE_MANY_SQL,
          values: [
            saved.map((u) => u.orderId),
            saved.map((u) => u.channel),
            states.map((s) => s.state),
            states.map((s) => s.attempts),
            states.map((s) => JSON.stringify(s.details)),
          ],
        });
      }
      return results;
    });
  }

  /**
   * Starts a channel over from `published` because its dead-lettered message is being
   * replayed. Only the message the channel was published with qualifies; returns
   * false (changing nothing) for any other message id or an unknown order.
   */
  markReplayed(orderId: string, channel: Channel, messageId: string, at: Date): Promise<boolean> {
    return withTransaction(this.pool, async (client) => {
      const cur = await lock(client, orderId, channel);
      if (!cur || cur.messageId !== messageId) return false;
      await save(client, orderId, channel, replayedChannel(cur.snapshot, at.toISOString()));
      return true;
    });
  }
}

function keyOf(orderId: string, channel: Channel): string {
  // uuid text is lower case from PostgreSQL; the message's may not be.
  return `${orderId.toLowerCase()}/${channel}`;
}

async function lock(client: PoolClient, orderId: string, channel: Channel): Promise<Locked | undefined> {
  const { rows } = await client.query<LockedRow>({
    name: 'order-api-lock-channel',
    text: LOCK_SQL,
    values: [orderId, channel],
  });
  const row = rows[0];
  if (!row) return undefined;
  return {
    snapshot: { state: row.state, attempts: row.attempts, details: row.details },
    messageId: row.message_id,
  };
}

async function save(
  client: PoolClient,
  orderId: string,
  channel: Channel,
  s: ChannelSnapshot,
): Promise<void> {
  await client.query({
    name: 'order-api-save-channel',
    text: SAVE_SQL,
    values: [orderId, channel, s.state, s.attempts, JSON.stringify(s.details)],
  });
}
