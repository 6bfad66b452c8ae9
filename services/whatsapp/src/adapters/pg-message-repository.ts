import { randomUUID } from 'node:crypto';
import { isTraceparent } from '@notify/messaging';
import { withTransaction } from '@notify/service-kit';
import type { Pool, PoolClient } from '@notify/service-kit';
import type {
  FallbackAttempt,
  LateFallbackRepository,
  LateFallbackResult,
  PendingFallback,
} from '../late-sms-fallback.js';
import type { RecordStatusResult, ReportedStatus, StatusRepository } from '../record-status-callback.js';
import type {
  AcceptedSend,
  ClaimRequest,
  ClaimResult,
  MessageRepository,
  RecordResult,
  SentRecord,
  StatusRecord,
} from '../send-order-whatsapp.js';
import { acceptedStatus, isWhatsappStatus, nextStatus } from '../whatsapp-status.js';
import type { WhatsappStatus } from '../whatsapp-status.js';

interface MessageRow {
  order_id: string;
  message_id: string;
  to_number: string;
  message_sid: string;
  accepted_status: string;
  accepted_at: Date;
  status: string;
  via: 'whatsapp' | 'sms';
  fallback_reason: string | null;
  replaced_sid: string | null;
}

interface HistoryRow {
  status: string;
  error_code: number | null;
  occurred_at: Date;
  fallback: boolean;
}

const MESSAGE_COLUMNS =
  'order_id, message_id, to_number, message_sid, accepted_status, accepted_at, status, via, fallback_reason, replaced_sid';
const HISTORY_COLUMNS = 'status, error_code, occurred_at, fallback';

/**
 * Which message of the order a status is about: `fallback` the SMS that replaced a failed
 * WhatsApp message (its statuses are kept apart from the WhatsApp message's), `current`
 * the order's message as it stands (only its statuses move `messages.status`).
 */
interface Leg {
  readonly fallback: boolean;
  readonly current: boolean;
}
const FIRST_MESSAGE: Leg = { fallback: false, current: true };

/** Only a well-formed traceparent is stored; anything else is no trace at all. */
function validTraceparent(v: string | undefined): string | null {
  return isTraceparent(v) ? v : null;
}

function toStatus(value: string): WhatsappStatus {
  return isWhatsappStatus(value) ? value : 'queued';
}

function toSentRecord(row: MessageRow): SentRecord {
  return {
    orderId: row.order_id,
    messageId: row.message_id,
    to: row.to_number,
    messageSid: row.message_sid,
    acceptedStatus: toStatus(row.accepted_status),
    acceptedAt: row.accepted_at.toISOString(),
    via: row.via,
    ...(row.fallback_reason ? { fallbackReason: row.fallback_reason } : {}),
    ...(row.replaced_sid ? { replacedSid: row.replaced_sid } : {}),
  };
}

function toStatusRecord(orderId: string, messageSid: string, row: HistoryRow): StatusRecord {
  return {
    orderId,
    messageSid,
    status: toStatus(row.status),
    errorCode: row.error_code ?? undefined,
    occurredAt: row.occurred_at.toISOString(),
    ...(row.fallback ? { fallback: true } : {}),
  };
}

/**
 * Transaction-scoped advisory locks serialise the writers that meet on one message: the
 * claims of deliveries of the same order and the late SMS fallback (order lock), and a
 * callback racing the commit of the send that created its message (SID lock).
 */
async function lock(client: PoolClient, key: string): Promise<void> {
  await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [key]);
}

/**
 * Takes the locks `prefix + id` of many ids in one statement, in sorted order, so that two
 * transactions locking overlapping sets cannot deadlock. (A volatile function in the select
 * list runs after the sort.)
 */
async function lockAll(client: PoolClient, prefix: string, ids: readonly string[]): Promise<void> {
  const sorted = [...new Set(ids)].sort();
  await client.query(
    `SELECT pg_advisory_xact_lock(hashtextextended($1 || k.id, 0))
       FROM unnest($2::text[]) WITH ORDINALITY AS k (id, n) ORDER BY k.n`,
    [prefix, sorted],
  );
}

const orderKey = (orderId: string) => orderId.toLowerCase();

/**
 * Applies one reported status to a stored message inside the caller's transaction.
 * Returns the history row as first stored and whether this call stored it.
 */
async function applyStatus(
  client: PoolClient,
  message: { order_id: string; status: string },
  report: { status: WhatsappStatus; errorCode: number | undefined; at: string; source: 'api' | 'callback' },
  leg: Leg = FIRST_MESSAGE,
): Promise<{ inserted: boolean; row: HistoryRow; current: WhatsappStatus }> {
  const inserted = await client.query<HistoryRow>(
    `INSERT INTO status_history (order_id, status, error_code, occurred_at, source, fallback)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (order_id, fallback, status) DO NOTHING
     RETURNING ${HISTORY_COLUMNS}`,
    [message.order_id, report.status, report.errorCode ?? null, report.at, report.source, leg.fallback],
  );
  const before = toStatus(message.status);
  if (!inserted.rows[0]) {
    const stored = await client.query<HistoryRow>(
      `SELECT ${HISTORY_COLUMNS} FROM status_history WHERE order_id = $1 AND fallback = $2 AND status = $3`,
      [message.order_id, leg.fallback, report.status],
    );
    return { inserted: false, row: stored.rows[0] as HistoryRow, current: before };
  }
  const after = leg.current ? nextStatus(before, report.status) : before;
  if (after !== before) {
    // A delivered WhatsApp message needs no SMS fallback: its text is not kept any longer.
    await client.query(
      `UPDATE messages SET status = $2, error_code = COALESCE($3, error_code), updated_at = now(),
         sms_body = CASE WHEN $4 THEN NULL ELSE sms_body END
       WHERE order_id = $1`,
      [
        message.order_id,
        after,
        after === report.status ? (report.errorCode ?? null) : null,
        after === 'delivered' || after === 'read',
      ],
    );
  }
  return { inserted: true, row: inserted.rows[0], current: after };
}

/** Applies the statuses parked for the order's (new) message, in arrival order; returns those first stored now. */
async function mergeParked(client: PoolClient, row: MessageRow, leg: Leg): Promise<StatusRecord[]> {
  const parked = await client.query<HistoryRow>(
    `DELETE FROM unmatched_statuses WHERE message_sid = $1
     RETURNING status, error_code, received_at AS occurred_at, $2::boolean AS fallback`,
    [row.message_sid, leg.fallback],
  );
  return applyParked(client, row, leg, parked.rows);
}

async function applyParked(
  client: PoolClient,
  row: MessageRow,
  leg: Leg,
  parked: readonly HistoryRow[],
): Promise<StatusRecord[]> {
  const earlyStatuses: StatusRecord[] = [];
  let current = row;
  for (const early of [...parked].sort((a, b) => a.occurred_at.getTime() - b.occurred_at.getTime())) {
    if (!isWhatsappStatus(early.status)) continue;
    const applied = await applyStatus(
      client,
      current,
      {
        status: early.status,
        errorCode: early.error_code ?? undefined,
        at: early.occurred_at.toISOString(),
        source: 'callback',
      },
      leg,
    );
    current = { ...current, status: applied.current };
    if (applied.inserted) earlyStatuses.push(toStatusRecord(row.order_id, row.message_sid, applied.row));
  }
  return earlyStatuses;
}

interface ClaimRow extends Partial<MessageRow> {
  order_key: string;
  claim_token: string | null;
  lease_until: Date | null;
  lease_live: boolean | null;
}

/** A claim to insert or take over, as the statements take it. */
interface NewClaim {
  readonly request: ClaimRequest;
  readonly token: string;
  /** The expired claim taken over. */
  readonly previousToken?: string;
}

const claimColumns = (list: readonly NewClaim[]) => [
  list.map((c) => c.request.orderId),
  list.map((c) => c.request.messageId),
  list.map((c) => c.token),
  list.map((c) => Math.round(c.request.leaseMs)),
];

interface FallbackRow extends MessageRow {
  sms_body: string | null;
  subscriber_client: string | null;
  subscriber_key: string | null;
  sms_skipped: string | null;
}

/** The `send_claims`, `messages`, `status_history` and `unmatched_statuses` tables of the service's schema. */
export class PgMessageRepository implements MessageRepository, StatusRepository, LateFallbackRepository {
  private readonly fallbackLeaseMs: number;

  /** `fallbackLeaseMs`: the lease of a late SMS fallback's claim (the send lease; default 2 min). */
  constructor(
    private readonly pool: Pool,
    options: { fallbackLeaseMs?: number } = {},
  ) {
    this.fallbackLeaseMs = options.fallbackLeaseMs ?? 120_000;
  }

  async claimAll(requests: readonly ClaimRequest[]): Promise<readonly ClaimResult[]> {
    if (requests.length === 0) return [];
    return withTransaction(this.pool, async (client) => {
      // The order locks (the late SMS fallback takes them too) serialise the claims of one
      // order; the transaction is short, the calls to Twilio happen after it committed.
      await lockAll(
        client,
        'whatsapp:order:',
        requests.map((r) => orderKey(r.orderId)),
      );
      // The window's idempotency check and its claims, in one statement (one snapshot: a
      // send recorded meanwhile shows as its message, never as neither).
      const found = await client.query<ClaimRow>(
        `SELECT k.id::text AS order_key, ${MESSAGE_COLUMNS.split(', ')
          .map((c) => `m.${c}`)
          .join(', ')},
                c.claim_token::text AS claim_token, c.lease_until, c.lease_until > now() AS lease_live
           FROM unnest($1::uuid[]) AS k (id)
           LEFT JOIN messages m ON m.order_id = k.id
           LEFT JOIN send_claims c ON c.order_id = k.id`,
        [requests.map((r) => r.orderId)],
      );
      const rows = new Map(found.rows.map((r) => [r.order_key, r]));
      const taken = new Set<string>();
      const inserts: NewClaim[] = [];
      const takeovers: NewClaim[] = [];
      const decided = requests.map((request): ClaimResult | NewClaim => {
        const key = orderKey(request.orderId);
        const row = rows.get(key);
        if (row?.message_sid) return { kind: 'sent', record: toSentRecord(row as MessageRow) };
        // A second delivery of an order this window claims finds it busy, as it would
        // find the first one's committed claim.
        if (taken.has(key)) return { kind: 'busy', leaseUntil: new Date(Date.now() + request.leaseMs) };
        if (row?.claim_token && row.lease_live)
          return { kind: 'busy', leaseUntil: row.lease_until ?? new Date() };
        taken.add(key);
        const claim: NewClaim = row?.claim_token
          ? { request, token: randomUUID(), previousToken: row.claim_token }
          : { request, token: randomUUID() };
        (claim.previousToken ? takeovers : inserts).push(claim);
        return claim;
      });
      // The tokens of the claims this transaction made.
      const won = new Set<string>();
      if (inserts.length > 0) {
        const made = await client.query<{ token: string }>(
          `INSERT INTO send_claims (order_id, message_id, claim_token, lease_until)
           SELECT w.order_id, w.message_id, w.claim_token,
                  now() + make_interval(secs => w.lease_ms::double precision / 1000)
             FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::int[])
               AS w (order_id, message_id, claim_token, lease_ms)
           ON CONFLICT (order_id) DO NOTHING
           RETURNING claim_token::text AS token`,
          claimColumns(inserts),
        );
        for (const r of made.rows) won.add(r.token);
      }
      if (takeovers.length > 0) {
        // Only the expired claim seen above is taken over: one its holder ended meanwhile
        // (recorded or given back) is gone, and this delivery then counts as busy.
        const tookOver = await client.query<{ token: string }>(
          `UPDATE send_claims c
              SET message_id = w.message_id, claim_token = w.claim_token,
                  lease_until = now() + make_interval(secs => w.lease_ms::double precision / 1000),
                  takeovers = c.takeovers + 1, claimed_at = now()
             FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::int[], $5::uuid[])
               AS w (order_id, message_id, claim_token, lease_ms, previous_token)
            WHERE c.order_id = w.order_id AND c.claim_token = w.previous_token
            RETURNING c.claim_token::text AS token`,
          [...claimColumns(takeovers), takeovers.map((c) => c.previousToken)],
        );
        for (const r of tookOver.rows) won.add(r.token);
      }
      return decided.map((d): ClaimResult => {
        if ('kind' in d) return d;
        if (!won.has(d.token)) return { kind: 'busy', leaseUntil: new Date(Date.now() + d.request.leaseMs) };
        return { kind: 'claimed', token: d.token, tookOver: d.previousToken !== undefined };
      });
    });
  }

  async recordAll(sends: readonly AcceptedSend[]): Promise<readonly RecordResult[]> {
    if (sends.length === 0) return [];
    return withTransaction(this.pool, async (client) => {
      // Waits for callbacks of these SIDs being parked right now, so none is missed below.
      await lockAll(
        client,
        'whatsapp:sid:',
        sends.map((s) => s.accepted.sid),
      );
      const at = new Date().toISOString();
      // Kept for a fallback only while the message is a WhatsApp one.
      const smsOf = (s: AcceptedSend) => (s.accepted.via === 'sms' ? undefined : s.claim.sms);
      const inserted = await client.query<MessageRow>(
        `INSERT INTO messages (order_id, message_id, to_number, message_sid, accepted_status, accepted_at, status,
           updated_at, traceparent, via, fallback_reason, sms_body, subscriber_client, subscriber_key)
         SELECT w.order_id, w.message_id, w.to_number, w.message_sid, w.accepted_status, $1, w.accepted_status,
                $1, w.traceparent, w.via, w.fallback_reason, w.sms_body, w.subscriber_client, w.subscriber_key
           FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                       $9::text[], $10::text[], $11::text[], $12::text[])
             AS w (order_id, message_id, to_number, message_sid, accepted_status, traceparent, via,
                   fallback_reason, sms_body, subscriber_client, subscriber_key)
         ON CONFLICT DO NOTHING
         RETURNING ${MESSAGE_COLUMNS}`,
        [
          at,
          sends.map((s) => s.claim.orderId),
          sends.map((s) => s.claim.messageId),
          sends.map((s) => s.claim.to),
          sends.map((s) => s.accepted.sid),
          sends.map((s) => acceptedStatus(s.accepted.status)),
          sends.map((s) => validTraceparent(s.claim.traceparent)),
          sends.map((s) => s.accepted.via ?? 'whatsapp'),
          sends.map((s) => s.accepted.fallbackReason?.slice(0, 1000) ?? null),
          sends.map((s) => smsOf(s)?.body ?? null),
          sends.map((s) => smsOf(s)?.subscriber?.client ?? null),
          sends.map((s) => smsOf(s)?.subscriber?.customerKey ?? null),
        ],
      );
      const made = inserted.rows;
      const orderIds = sends.map((s) => s.claim.orderId);
      await client.query('DELETE FROM send_claims WHERE order_id = ANY($1::uuid[])', [orderIds]);
      const results = new Map<string, RecordResult>();
      if (made.length > 0) {
        await client.query(
          `INSERT INTO status_history (order_id, status, error_code, occurred_at, source, fallback)
           SELECT w.order_id, w.status, NULL, $1, 'api', false
             FROM unnest($2::uuid[], $3::text[]) AS w (order_id, status)
           ON CONFLICT (order_id, fallback, status) DO NOTHING`,
          [at, made.map((r) => r.order_id), made.map((r) => r.accepted_status)],
        );
        const parked = await client.query<HistoryRow & { message_sid: string }>(
          `DELETE FROM unmatched_statuses WHERE message_sid = ANY($1::text[])
           RETURNING message_sid, status, error_code, received_at AS occurred_at, false AS fallback`,
          [made.map((r) => r.message_sid)],
        );
        for (const row of made) {
          const early = parked.rows.filter((p) => p.message_sid === row.message_sid);
          const earlyStatuses = early.length > 0 ? await applyParked(client, row, FIRST_MESSAGE, early) : [];
          results.set(orderKey(row.order_id), { outcome: 'sent', record: toSentRecord(row), earlyStatuses });
        }
      }
      const missing = orderIds.filter((id) => !results.has(orderKey(id)));
      if (missing.length > 0) {
        // Recorded by another delivery (one that took an expired claim over): that message stands.
        const existing = await client.query<MessageRow>(
          `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE order_id = ANY($1::uuid[])`,
          [missing],
        );
        for (const row of existing.rows) {
          results.set(orderKey(row.order_id), { outcome: 'duplicate', record: toSentRecord(row) });
        }
      }
      return sends.map((s) => {
        const result = results.get(orderKey(s.claim.orderId));
        if (!result) throw new Error(`order ${s.claim.orderId}: message ${s.accepted.sid} was not recorded`);
        return result;
      });
    });
  }

  async release(orderId: string, token: string): Promise<void> {
    // Only the holder gives a claim up: after its lease expired and another delivery took
    // over, a slow holder's late failure must not end the new claim.
    await this.pool.query('DELETE FROM send_claims WHERE order_id = $1 AND claim_token = $2', [
      orderId,
      token,
    ]);
  }

  async recordStatus(report: ReportedStatus): Promise<RecordStatusResult> {
    return withTransaction(this.pool, async (client) => {
      // Waits for a send of this SID that is committing right now, so its row is seen.
      await lock(client, `whatsapp:sid:${report.messageSid}`);
      // The SID is the order's message, or the WhatsApp message an SMS replaced.
      const found = await client.query<{
        order_id: string;
        status: string;
        traceparent: string | null;
        message_sid: string;
        via: 'whatsapp' | 'sms';
        replaced_sid: string | null;
      }>(
        `SELECT order_id, status, traceparent, message_sid, via, replaced_sid FROM messages
         WHERE message_sid = $1 OR replaced_sid = $1 FOR UPDATE`,
        [report.messageSid],
      );
      const message = found.rows[0];
      if (!message) {
        await client.query(
          `INSERT INTO unmatched_statuses (message_sid, status, error_code, received_at)
           VALUES ($1, $2, $3, $4) ON CONFLICT (message_sid, status) DO NOTHING`,
          [report.messageSid, report.status, report.errorCode ?? null, report.receivedAt],
        );
        return { outcome: 'unmatched' };
      }
      const current = message.message_sid === report.messageSid;
      const applied = await applyStatus(
        client,
        message,
        { status: report.status, errorCode: report.errorCode, at: report.receivedAt, source: 'callback' },
        { current, fallback: current && message.replaced_sid !== null },
      );
      return {
        outcome: applied.inserted ? 'recorded' : 'duplicate',
        sentOn: current ? message.via : 'whatsapp',
        record: {
          ...toStatusRecord(message.order_id, report.messageSid, applied.row),
          traceparent: message.traceparent ?? undefined,
        },
        current: applied.current,
      };
    });
  }

  async fallBackOnce(
    orderId: string,
    failedSid: string,
    attempt: (pending: PendingFallback) => Promise<FallbackAttempt>,
  ): Promise<LateFallbackResult> {
    const decided = await this.claimFallback(orderId, failedSid);
    if ('outcome' in decided) return decided;
    const { row, token } = decided;
    let done: FallbackAttempt;
    try {
      done = await attempt({
        to: row.to_number,
        body: row.sms_body ?? '',
        subscriber:
          row.subscriber_client && row.subscriber_key
            ? { client: row.subscriber_client, customerKey: row.subscriber_key }
            : undefined,
      });
    } catch (err) {
      // Nothing was sent: the next callback may try again at once.
      await this.release(orderId, token).catch(() => undefined);
      throw err;
    }
    return withTransaction(this.pool, async (client) => {
      if (done.kind === 'skipped') {
        await client.query(
          `UPDATE messages SET sms_skipped = $3, sms_body = NULL
            WHERE order_id = $1 AND message_sid = $2 AND via = 'whatsapp'`,
          [orderId, failedSid, done.reason.slice(0, 1000)],
        );
        await client.query('DELETE FROM send_claims WHERE order_id = $1 AND claim_token = $2', [
          orderId,
          token,
        ]);
        return { outcome: 'skipped', reason: done.reason };
      }
      const { accepted } = done;
      const status = acceptedStatus(accepted.status);
      const at = new Date().toISOString();
      // A callback of the SMS that came first is parked, then merged: the SID lock orders the two.
      await lock(client, `whatsapp:sid:${accepted.sid}`);
      // Only while the row is still the failed WhatsApp message: a fallback that took this
      // one's expired claim over and recorded first stands.
      const updated = await client.query<MessageRow>(
        `UPDATE messages SET replaced_sid = message_sid, message_sid = $3, via = 'sms', fallback_reason = $4,
           accepted_status = $5, accepted_at = $6, status = $5, error_code = NULL, updated_at = $6,
           sms_body = NULL
         WHERE order_id = $1 AND message_sid = $2 AND via = 'whatsapp'
         RETURNING ${MESSAGE_COLUMNS}`,
        [orderId, failedSid, accepted.sid, accepted.fallbackReason?.slice(0, 1000) ?? null, status, at],
      );
      await client.query('DELETE FROM send_claims WHERE order_id = $1', [orderId]);
      const sms = updated.rows[0];
      if (!sms) {
        const current = await client.query<MessageRow>(
          `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE order_id = $1`,
          [orderId],
        );
        const stood = current.rows[0];
        return stood
          ? { outcome: 'duplicate', record: toSentRecord(stood), earlyStatuses: [] }
          : { outcome: 'none' };
      }
      const leg: Leg = { fallback: true, current: true };
      await applyStatus(client, sms, { status, errorCode: undefined, at, source: 'api' }, leg);
      const earlyStatuses = await mergeParked(client, sms, leg);
      return { outcome: 'sent', record: toSentRecord(sms), earlyStatuses };
    });
  }

  /**
   * The late fallback's claim, taken like a send's (order lock, short transaction, lease),
   * so no transaction stays open across the SMS call: the fallback's decision when there is
   * nothing to send, or the WhatsApp message's row with the claim to send under.
   */
  private async claimFallback(
    orderId: string,
    failedSid: string,
  ): Promise<LateFallbackResult | { row: FallbackRow; token: string }> {
    return withTransaction(this.pool, async (client) => {
      await lock(client, `whatsapp:order:${orderKey(orderId)}`);
      const found = await client.query<
        FallbackRow & { claim_token: string | null; lease_live: boolean | null }
      >(
        `SELECT ${MESSAGE_COLUMNS.split(', ')
          .map((c) => `m.${c}`)
          .join(', ')}, m.sms_body, m.subscriber_client, m.subscriber_key, m.sms_skipped,
                c.claim_token::text AS claim_token, c.lease_until > now() AS lease_live
           FROM messages m LEFT JOIN send_claims c ON c.order_id = m.order_id
          WHERE m.order_id = $1`,
        [orderId],
      );
      const row = found.rows[0];
      if (row?.replaced_sid === failedSid) {
        return { outcome: 'duplicate', record: toSentRecord(row), earlyStatuses: [] };
      }
      if (!row || row.message_sid !== failedSid || row.via !== 'whatsapp') return { outcome: 'none' };
      if (row.sms_skipped) return { outcome: 'skipped', reason: row.sms_skipped };
      if (!row.sms_body) return { outcome: 'none' };
      if (row.claim_token && row.lease_live) {
        // Thrown, so the callback is answered 503: the SMS is being sent by another callback.
        throw new Error(`another callback of order ${orderId} is sending its SMS fallback`);
      }
      const token = randomUUID();
      await client.query(
        `INSERT INTO send_claims (order_id, message_id, claim_token, lease_until)
         VALUES ($1, $2, $3, now() + make_interval(secs => $4::double precision / 1000))
         ON CONFLICT (order_id) DO UPDATE
           SET message_id = EXCLUDED.message_id, claim_token = EXCLUDED.claim_token,
               lease_until = EXCLUDED.lease_until, takeovers = send_claims.takeovers + 1, claimed_at = now()`,
        [orderId, `${failedSid}:sms-fallback`, token, this.fallbackLeaseMs],
      );
      return { row, token };
    });
  }
}

/** The stored status of an order's message and its history in arrival order (tests, diagnostics). */
export async function readMessageState(
  pool: Pool,
  orderId: string,
): Promise<{ record: SentRecord; status: WhatsappStatus; history: StatusRecord[] } | undefined> {
  const m = await pool.query<MessageRow>(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE order_id = $1`, [
    orderId,
  ]);
  const row = m.rows[0];
  if (!row) return undefined;
  const h = await pool.query<HistoryRow>(
    `SELECT ${HISTORY_COLUMNS} FROM status_history WHERE order_id = $1 ORDER BY seq`,
    [orderId],
  );
  return {
    record: toSentRecord(row),
    status: toStatus(row.status),
    history: h.rows.map((r) =>
      toStatusRecord(row.order_id, r.fallback || !row.replaced_sid ? row.message_sid : row.replaced_sid, r),
    ),
  };
}
