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
  AcceptedMessage,
  MessageClaim,
  MessageRepository,
  SendOnceResult,
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
 * Transaction-scoped advisory locks serialise the two writers that meet on one message:
 * deliveries of the same order (order lock, held across the call to Twilio) and a
 * callback racing the commit of the send that created its message (SID lock).
 */
async function lock(client: PoolClient, key: string): Promise<void> {
  await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [key]);
}

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

/** Inserts the accepted message (with the statuses parked for its SID) inside the order's transaction. */
async function recordAccepted(
  client: PoolClient,
  claim: MessageClaim,
  accepted: AcceptedMessage,
): Promise<SendOnceResult> {
  const status = acceptedStatus(accepted.status);
  const at = new Date().toISOString();
  await lock(client, `whatsapp:sid:${accepted.sid}`);
  // Kept for a fallback only while the message is a WhatsApp one.
  const sms = accepted.via === 'sms' ? undefined : claim.sms;
  const inserted = await client.query<MessageRow>(
    `INSERT INTO messages (order_id, message_id, to_number, message_sid, accepted_status, accepted_at, status, updated_at, traceparent, via, fallback_reason,
       sms_body, subscriber_client, subscriber_key)
     VALUES ($1, $2, $3, $4, $5, $6, $5, $6, $7, $8, $9, $10, $11, $12)
     RETURNING ${MESSAGE_COLUMNS}`,
    [
      claim.orderId,
      claim.messageId,
      claim.to,
      accepted.sid,
      status,
      at,
      validTraceparent(claim.traceparent),
      accepted.via ?? 'whatsapp',
      accepted.fallbackReason?.slice(0, 1000) ?? null,
      sms?.body ?? null,
      sms?.subscriber?.client ?? null,
      sms?.subscriber?.customerKey ?? null,
    ],
  );
  const row = inserted.rows[0] as MessageRow;
  await applyStatus(client, row, { status, errorCode: undefined, at, source: 'api' });
  const earlyStatuses = await mergeParked(client, row, FIRST_MESSAGE);
  return { outcome: 'sent', record: toSentRecord(row), earlyStatuses };
}

/** Applies the statuses parked for the order's (new) message, in arrival order; returns those first stored now. */
async function mergeParked(client: PoolClient, row: MessageRow, leg: Leg): Promise<StatusRecord[]> {
  const parked = await client.query<HistoryRow>(
    `DELETE FROM unmatched_statuses WHERE message_sid = $1
     RETURNING status, error_code, received_at AS occurred_at, $2::boolean AS fallback`,
    [row.message_sid, leg.fallback],
  );
  const earlyStatuses: StatusRecord[] = [];
  let current = row;
  for (const early of parked.rows.sort((a, b) => a.occurred_at.getTime() - b.occurred_at.getTime())) {
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

/** Takes the order's lock for this transaction and returns the message already sent for it, if any. */
async function lockAndFindSent(client: PoolClient, orderId: string): Promise<SendOnceResult | undefined> {
  await lock(client, `whatsapp:order:${orderId}`);
  const existing = await client.query<MessageRow>(
    `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE order_id = $1`,
    [orderId],
  );
  return existing.rows[0] ? { outcome: 'duplicate', record: toSentRecord(existing.rows[0]) } : undefined;
}

interface FallbackRow extends MessageRow {
  sms_body: string | null;
  subscriber_client: string | null;
  subscriber_key: string | null;
  sms_skipped: string | null;
}

/** The `messages`, `status_history` and `unmatched_statuses` tables of the service's schema. */
export class PgMessageRepository implements MessageRepository, StatusRepository, LateFallbackRepository {
  private readonly recordRetryMs: number;
  private readonly delay: (attempt: number) => number;

  constructor(
    private readonly pool: Pool,
    options: { recordRetryMs?: number; recordRetryDelayMs?: (attempt: number) => number } = {},
  ) {
    this.recordRetryMs = options.recordRetryMs ?? 60_000;
    this.delay = options.recordRetryDelayMs ?? ((n: number) => Math.min(2_000, 100 * 2 ** (n - 1)));
  }

  async sendOnce(claim: MessageClaim, send: () => Promise<AcceptedMessage>): Promise<SendOnceResult> {
    let accepted: AcceptedMessage | undefined;
    try {
      // The transaction stays open across the call to Twilio so that a concurrent delivery
      // of the same order waits on the order lock instead of sending a second message.
      return await withTransaction(this.pool, async (client) => {
        const sent = await lockAndFindSent(client, claim.orderId);
        if (sent) return sent;
        accepted = await send();
        return recordAccepted(client, claim, accepted);
      });
    } catch (err) {
      if (!accepted) throw err;
      // Twilio accepted the message but its record did not commit (the database restarted
      // or the connection dropped). Thrown now, the record would be lost and the retry
      // would send a second message; recorded as soon as the database is back, the retry
      // finds it. A delivery that got in first cannot be undone: its record stands.
      return this.recordLate(claim, accepted, err);
    }
  }

  async findByMessageId(messageId: string): Promise<SentRecord | undefined> {
    const r = await this.pool.query<MessageRow>(
      `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE message_id = $1`,
      [messageId],
    );
    return r.rows[0] ? toSentRecord(r.rows[0]) : undefined;
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
    return withTransaction(this.pool, async (client) => {
      // The order's lock, as sendOnce takes it: one fallback at a time, and never beside a send.
      await lock(client, `whatsapp:order:${orderId}`);
      const found = await client.query<FallbackRow>(
        `SELECT ${MESSAGE_COLUMNS}, sms_body, subscriber_client, subscriber_key, sms_skipped
         FROM messages WHERE order_id = $1`,
        [orderId],
      );
      const row = found.rows[0];
      if (row?.replaced_sid === failedSid) {
        return { outcome: 'duplicate', record: toSentRecord(row), earlyStatuses: [] };
      }
      if (!row || row.message_sid !== failedSid || row.via !== 'whatsapp') return { outcome: 'none' };
      if (row.sms_skipped) return { outcome: 'skipped', reason: row.sms_skipped };
      if (!row.sms_body) return { outcome: 'none' };

      const done = await attempt({
        to: row.to_number,
        body: row.sms_body,
        subscriber:
          row.subscriber_client && row.subscriber_key
            ? { client: row.subscriber_client, customerKey: row.subscriber_key }
            : undefined,
      });
      if (done.kind === 'skipped') {
        await client.query('UPDATE messages SET sms_skipped = $2, sms_body = NULL WHERE order_id = $1', [
          orderId,
          done.reason.slice(0, 1000),
        ]);
        return { outcome: 'skipped', reason: done.reason };
      }
      const { accepted } = done;
      const status = acceptedStatus(accepted.status);
      const at = new Date().toISOString();
      // Taken only now (the SID is new): a callback of the SMS that came first is parked, then merged.
      await lock(client, `whatsapp:sid:${accepted.sid}`);
      const updated = await client.query<MessageRow>(
        `UPDATE messages SET replaced_sid = message_sid, message_sid = $2, via = 'sms', fallback_reason = $3,
           accepted_status = $4, accepted_at = $5, status = $4, error_code = NULL, updated_at = $5,
           sms_body = NULL
         WHERE order_id = $1
         RETURNING ${MESSAGE_COLUMNS}`,
        [orderId, accepted.sid, accepted.fallbackReason?.slice(0, 1000) ?? null, status, at],
      );
      const sms = updated.rows[0] as MessageRow;
      const leg: Leg = { fallback: true, current: true };
      await applyStatus(client, sms, { status, errorCode: undefined, at, source: 'api' }, leg);
      const earlyStatuses = await mergeParked(client, sms, leg);
      return { outcome: 'sent', record: toSentRecord(sms), earlyStatuses };
    });
  }

  /** Records a message Twilio accepted after its own transaction failed, retrying while the database is away. */
  private async recordLate(
    claim: MessageClaim,
    accepted: AcceptedMessage,
    firstError: unknown,
  ): Promise<SendOnceResult> {
    const deadline = Date.now() + this.recordRetryMs;
    let lastError = firstError;
    for (let attempt = 1; Date.now() < deadline; attempt++) {
      await new Promise((r) => setTimeout(r, this.delay(attempt)));
      try {
        return await withTransaction(this.pool, async (client) => {
          const sent = await lockAndFindSent(client, claim.orderId);
          if (sent) return sent;
          return recordAccepted(client, claim, accepted);
        });
      } catch (err) {
        lastError = err;
      }
    }
    throw lastError;
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
