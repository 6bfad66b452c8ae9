import { UNROUTABLE_QUEUE } from '@notify/contracts';
import type pg from 'pg';
import { schemaOf } from '../services.js';
import type { DeadLetter } from './raw-amqp.js';

/**
 * Takes (deletes and returns) the dead letters the order API parked from `queue`: it moves
 * every dead letter and unroutable message out of the broker into its `parked_letters`
 * table (services/order-api/src/dead-letters/), so that is where a scenario finds them.
 */
export async function takeParkedLetters(pool: pg.Pool, queue: string): Promise<DeadLetter[]> {
  const { rows } = await pool.query<{
    message_id: string;
    correlation_id: string | null;
    reason: string;
    detail: string | null;
    dead_lettered_at: Date | null;
  }>(
    `DELETE FROM ${schemaOf('order-api')}.parked_letters WHERE queue = $1
     RETURNING message_id, properties->>'correlationId' AS correlation_id, reason, detail, dead_lettered_at`,
    [queue],
  );
  return rows.map((r) => ({
    queue,
    messageId: r.message_id,
    correlationId: r.correlation_id ?? undefined,
    reason: r.reason,
    detail: r.detail ?? undefined,
    at: r.dead_lettered_at?.getTime(),
  }));
}

/** Unroutable messages the order API parked (and so took out of `notification.unroutable.queue`, UNROUTABLE_QUEUE). */
export async function parkedUnroutable(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM ${schemaOf('order-api')}.parked_letters WHERE queue = 'notification.unroutable.queue'`,
  );
  return rows[0]?.n ?? 0;
}

/** Dead letters (not unroutable messages) the order API parked since `since`, oldest first. */
export async function deadLetteredSince(
  pool: pg.Pool,
  since: Date,
): Promise<{ queue: string; messageId: string; reason: string }[]> {
  const { rows } = await pool.query<{ queue: string; message_id: string; reason: string }>(
    `SELECT queue, message_id, reason FROM ${schemaOf('order-api')}.parked_letters
     WHERE queue <> $2 AND parked_at >= $1 ORDER BY id`,
    [since, UNROUTABLE_QUEUE.name],
  );
  return rows.map((r) => ({ queue: r.queue, messageId: r.message_id, reason: r.reason }));
}
