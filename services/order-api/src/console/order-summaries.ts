import { CHANNELS } from '@notify/contracts';
import type { Channel } from '@notify/contracts';
import type { Pool } from '@notify/service-kit';
import { deriveOrderStatus } from '../domain/order-status.js';
import type { ChannelState, OrderStatus } from '../domain/order-status.js';

/** What the console's list shows of an order: no address, items or phone. */
export interface OrderSummary {
  readonly id: string;
  readonly reference: string;
  readonly status: OrderStatus;
  readonly placedAt: string;
  readonly customerEmail: string;
  readonly channels: Record<Channel, { readonly state: ChannelState; readonly updatedAt: string }>;
}

export interface OrderPage {
  readonly orders: OrderSummary[];
  /** Pass as `before` for the next (older) page; null on the last page. */
  readonly nextBefore: string | null;
}

export const MAX_PAGE = 100;
export const MIN_SEARCH_LENGTH = 3;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Where a page starts: strictly older than this order (placed_at, then id). */
export interface Cursor {
  readonly placedAt: string;
  readonly id: string;
}

// Microsecond timestamps in the cursor: a millisecond one could skip orders placed in
// the same millisecond as the last one shown.
const CURSOR_TEXT = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z)\|([0-9a-f-]{36})$/;

export function encodeCursor(c: Cursor): string {
  return Buffer.from(`${c.placedAt}|${c.id}`).toString('base64url');
}

/** The cursor in a `before` value, or null when it is not one this API made. */
export function decodeCursor(value: string): Cursor | null {
  const m = CURSOR_TEXT.exec(Buffer.from(value, 'base64url').toString('utf8'));
  if (!m?.[1] || !m[2] || !UUID.test(m[2]) || Number.isNaN(Date.parse(m[1]))) return null;
  return { placedAt: m[1], id: m[2] };
}

function likePrefix(text: string): string {
  return `${text.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
}

/**
 * The search condition for `q`: the exact order id, or a prefix of the reference or of
 * the customer's email (case-insensitive). Each branch matches an index of migration
 * 003, so PostgreSQL combines index scans instead of reading the table.
 */
export function searchCondition(q: string, firstParam: number): { sql: string; values: string[] } {
  const text = q.trim();
  const branches: string[] = [];
  const values: string[] = [];
  const param = (v: string) => {
    values.push(v);
    return `$${firstParam + values.length - 1}`;
  };
  if (UUID.test(text)) branches.push(`o.id = ${param(text.toLowerCase())}::uuid`);
  branches.push(`o.reference LIKE ${param(likePrefix(text.toUpperCase()))}`);
  branches.push(`lower(o.customer->>'email') LIKE ${param(likePrefix(text.toLowerCase()))}`);
  return { sql: `(${branches.join(' OR ')})`, values };
}

interface SummaryRow {
  id: string;
  reference: string;
  placed_at: Date;
  placed_at_us: string;
  email: string;
  channel: Channel;
  state: ChannelState;
  updated_at: Date;
  decision: string | null;
}

// The page's orders first (bounded by LIMIT), then their five channel rows by primary
// key. Only the fraud decision is read from the details: the status needs nothing else.
function summariesSql(where: string, limitParam: string): string {
  return `
WITH page AS (
  SELECT o.id, o.reference, o.placed_at, o.customer->>'email' AS email
  FROM orders o
  WHERE ${where}
  ORDER BY o.placed_at DESC, o.id DESC
  LIMIT ${limitParam}
)
SELECT p.id, p.reference, p.placed_at, p.email,
       to_char(p.placed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS placed_at_us,
       s.channel, s.state, s.updated_at,
       CASE WHEN s.channel = 'fraud' THEN s.details->>'decision' END AS decision
FROM page p
JOIN notification_states s ON s.order_id = p.id
ORDER BY p.placed_at DESC, p.id DESC`;
}

function toSummaries(rows: readonly SummaryRow[]): { orders: OrderSummary[]; last: Cursor | null } {
  const byId = new Map<
    string,
    { row: SummaryRow; channels: Partial<OrderSummary['channels']>; decision?: string }
  >();
  for (const r of rows) {
    let entry = byId.get(r.id);
    if (!entry) byId.set(r.id, (entry = { row: r, channels: {} }));
    entry.channels[r.channel] = { state: r.state, updatedAt: r.updated_at.toISOString() };
    if (r.decision) entry.decision = r.decision;
  }
  const orders: OrderSummary[] = [];
  let last: Cursor | null = null;
  for (const { row, channels, decision } of byId.values()) {
    // An order is written with its five channel rows in one statement; one without them
    // is not one this API made, and is left out rather than shown half.
    if (CHANNELS.some((c) => !channels[c])) continue;
    const complete = channels as OrderSummary['channels'];
    const statusInput = Object.fromEntries(
      CHANNELS.map((c) => [
        c,
        { state: complete[c].state, ...(c === 'fraud' ? { details: { decision } } : {}) },
      ]),
    ) as Parameters<typeof deriveOrderStatus>[0];
    orders.push({
      id: row.id,
      reference: row.reference,
      status: deriveOrderStatus(statusInput),
      placedAt: row.placed_at.toISOString(),
      customerEmail: row.email,
      channels: complete,
    });
    last = { placedAt: row.placed_at_us, id: row.id };
  }
  return { orders, last };
}

/** The console's reads of orders: bounded pages and the summaries of changed orders. */
export class OrderSummaries {
  constructor(private readonly pool: Pool) {}

  /** Newest first; `q` searches (see searchCondition), `before` continues after a page. */
  async page(options: { q?: string; limit: number; before?: Cursor | null }): Promise<OrderPage> {
    const limit = Math.min(Math.max(1, Math.floor(options.limit)), MAX_PAGE);
    const where: string[] = [];
    const values: unknown[] = [];
    if (options.q && options.q.trim()) {
      const s = searchCondition(options.q, values.length + 1);
      where.push(s.sql);
      values.push(...s.values);
    }
    if (options.before) {
      values.push(options.before.placedAt, options.before.id);
      where.push(`(o.placed_at, o.id) < ($${values.length - 1}::timestamptz, $${values.length}::uuid)`);
    }
    values.push(limit);
    const { rows } = await this.pool.query<SummaryRow>(
      summariesSql(where.length ? where.join(' AND ') : 'true', `$${values.length}`),
      values,
    );
    const { orders, last } = toSummaries(rows);
    const full = new Set(rows.map((r) => r.id)).size === limit;
    return { orders, nextBefore: full && last ? encodeCursor(last) : null };
  }

  /** The summaries of these orders (unknown ids are left out), newest first. */
  async byIds(ids: readonly string[]): Promise<OrderSummary[]> {
    const valid = [...new Set(ids.filter((id) => UUID.test(id)))];
    if (valid.length === 0) return [];
    const { rows } = await this.pool.query<SummaryRow>(summariesSql('o.id = ANY($1::uuid[])', '$2'), [
      valid,
      valid.length,
    ]);
    return toSummaries(rows).orders;
  }
}
