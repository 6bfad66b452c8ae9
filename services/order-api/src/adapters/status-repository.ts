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
