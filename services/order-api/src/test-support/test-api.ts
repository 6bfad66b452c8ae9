import type { Pool } from '@notify/service-kit';
import pino from 'pino';
import { startOrderApi } from '../server.js';
import type { RunningOrderApi } from '../server.js';

export const silent = pino({ level: 'silent' });

/** Starts the whole API in-process against a test database and vhost. */
export function startTestApi(env: Record<string, string>): Promise<RunningOrderApi> {
  return startOrderApi(
    {
      PORT: '0',
      OPS_PORT: '0',
      HOST: '127.0.0.1',
      OUTBOX_POLL_INTERVAL_MS: '1000',
      RATE_LIMIT_MAX: '0',
      ...env,
    },
    { logger: silent },
  );
}

export interface RowCounts {
  orders: number;
  outbox: number;
  states: number;
  keys: number;
}

export async function rowCounts(pool: Pool): Promise<RowCounts> {
  const { rows } = await pool.query<RowCounts>(`
    SELECT (SELECT count(*) FROM orders)::int AS orders,
           (SELECT count(*) FROM outbox)::int AS outbox,
           (SELECT count(*) FROM notification_states)::int AS states,
           (SELECT count(*) FROM idempotency_keys)::int AS keys`);
  const row = rows[0];
  if (!row) throw new Error('no counts');
  return row;
}

export async function unpublished(pool: Pool): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL',
  );
  return rows[0]?.n ?? -1;
}
