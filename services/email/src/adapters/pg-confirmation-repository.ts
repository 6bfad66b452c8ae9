import { randomUUID } from 'node:crypto';
import { byUuid, withTransaction } from '@notify/service-kit';
import type { Pool } from '@notify/service-kit';
import type {
  ClaimRequest,
  ClaimResult,
  ConfirmationRepository,
  SentConfirmation,
} from '../send-order-confirmation.js';

interface Row {
  order_id: string;
  status: 'sending' | 'sent' | 'deferred' | 'failed';
  recipient: string;
  locale: string;
  smtp_message_id: string;
  sent_at: Date | null;
  lease_until: Date | null;
  lease_live: boolean;
}

function toSent(row: Row): SentConfirmation {
  if (!row.sent_at) throw new Error(`order ${row.order_id} is marked sent without a time`);
  return {
    orderId: row.order_id,
    recipient: row.recipient,
    locale: row.locale,
    smtpMessageId: row.smtp_message_id,
    sentAt: row.sent_at,
  };
}

/** The `order_confirmations` table: one row per order, the unique key of the effect. */
export class PgConfirmationRepository implements ConfirmationRepository {
  constructor(private readonly pool: Pool) {}

  async claim(input: ClaimRequest): Promise<ClaimResult> {
    const [result] = await this.claimAll([input]);
    return result!;
  }

  async claimAll(inputs: readonly ClaimRequest[]): Promise<readonly ClaimResult[]> {
    if (inputs.length === 0) return [];
    return withTransaction(this.pool, async (client) => {
      // The row locks serialise concurrent deliveries of one order (taken in key order, so
      // two windows cannot deadlock); the transaction is short, the SMTP calls happen
      // after it committed.
      const found = await client.query<Row>(
        `SELECT order_id, status, recipient, locale, smtp_message_id, sent_at, lease_until,
                lease_until > now() AS lease_live
           FROM order_confirmations WHERE order_id = ANY($1::uuid[])
          ORDER BY order_id FOR UPDATE`,
        [inputs.map((i) => i.orderId)],
      );
      const rows = byUuid(
        found.rows,
        (r) => r.order_id,
        inputs.map((i) => i.orderId),
      );
      const taken = new Set<string>();
      const inserts: { input: ClaimRequest; token: string }[] = [];
      const takeovers: { input: ClaimRequest; token: string }[] = [];
      const results: (
        | ClaimResult
        | {
            pending: 'insert' | 'takeover';
            token: string;
            previous: Extract<ClaimResult, { kind: 'claimed' }>['previous'];
          }
      )[] = inputs.map((input) => {
        const key = input.orderId.toLowerCase();
        const row = rows.get(input.orderId);
        if (row?.status === 'sent') return { kind: 'sent', record: toSent(row) };
        const busyUntil = new Date(Date.now() + input.leaseMs);
        // A second delivery of an order this window claims finds it busy, as it would
        // find the first one's committed claim.
        if (taken.has(key)) return { kind: 'busy', leaseUntil: busyUntil };
        if (row?.status === 'sending' && row.lease_live)
          return { kind: 'busy', leaseUntil: row.lease_until ?? new Date() };
        taken.add(key);
        const token = randomUUID();
        if (!row) {
          inserts.push({ input, token });
          return { pending: 'insert', token, previous: null };
        }
        // A deferred or failed send delivered nothing, and an expired claim belongs to a
        // worker that died: all may be taken over. The newest delivery's recipient and
        // locale win (a replay after the address was corrected).
        takeovers.push({ input, token });
        return { pending: 'takeover', token, previous: row.status };
      });
      const columns = (list: readonly { input: ClaimRequest; token: string }[]) => [
        list.map((c) => c.input.orderId),
        list.map((c) => c.input.deliveryMessageId),
        list.map((c) => c.input.recipient),
        list.map((c) => c.input.locale),
        list.map((c) => c.input.smtpMessageId),
        list.map((c) => c.token),
        list.map((c) => c.input.leaseMs),
      ];
      const inserted = new Set<string>();
      if (inserts.length > 0) {
        const { rows: made } = await client.query<{ order_id: string }>(
          `INSERT INTO order_confirmations
             (order_id, status, delivery_message_id, recipient, locale, smtp_message_id, claim_token, lease_until)
           SELECT w.order_id, 'sending', w.delivery_message_id, w.recipient, w.locale, w.smtp_message_id, w.claim_token,
                  now() + make_interval(secs => w.lease_ms::double precision / 1000)
             FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::uuid[], $7::int[])
               AS w (order_id, delivery_message_id, recipient, locale, smtp_message_id, claim_token, lease_ms)
           ON CONFLICT (order_id) DO NOTHING
           RETURNING order_id::text`,
          columns(inserts),
        );
        for (const r of made) inserted.add(r.order_id.toLowerCase());
      }
      if (takeovers.length > 0) {
        await client.query(
          `UPDATE order_confirmations c
              SET status = 'sending', delivery_message_id = w.delivery_message_id, recipient = w.recipient,
                  locale = w.locale, smtp_message_id = w.smtp_message_id, claim_token = w.claim_token,
                  lease_until = now() + make_interval(secs => w.lease_ms::double precision / 1000),
                  attempts = c.attempts + 1, failure_reason = NULL, failed_at = NULL, updated_at = now()
             FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::uuid[], $7::int[])
               AS w (order_id, delivery_message_id, recipient, locale, smtp_message_id, claim_token, lease_ms)
            WHERE c.order_id = w.order_id`,
          columns(takeovers),
        );
      }
      return results.map((r, i): ClaimResult => {
        if (!('pending' in r)) return r;
        const input = inputs[i]!;
        // Lost the race to a concurrent first delivery, whose row was not visible to our SELECT.
        if (r.pending === 'insert' && !inserted.has(input.orderId.toLowerCase()))
          return { kind: 'busy', leaseUntil: new Date(Date.now() + input.leaseMs) };
        return { kind: 'claimed', token: r.token, previous: r.previous };
      });
    });
  }

  async markSent(orderId: string, result: { smtpResponse: string; sentAt: Date }): Promise<SentConfirmation> {
    // Not conditional on our claim token: if our lease ran out and another worker took
    // over, the mail still went out, and whichever of us records it first is right.
    const updated = await this.pool.query<Row>(
      `UPDATE order_confirmations
          SET status = 'sent', smtp_response = $2, sent_at = $3, claim_token = NULL, lease_until = NULL,
              updated_at = now()
        WHERE order_id = $1 AND status <> 'sent'
        RETURNING order_id, status, recipient, locale, smtp_message_id, sent_at, lease_until, false AS lease_live`,
      [orderId, result.smtpResponse.slice(0, 1000), result.sentAt],
    );
    const row =
      updated.rows[0] ??
      (
        await this.pool.query<Row>(
          `SELECT order_id, status, recipient, locale, smtp_message_id, sent_at, lease_until, false AS lease_live
             FROM order_confirmations WHERE order_id = $1`,
          [orderId],
        )
      ).rows[0];
    if (!row) throw new Error(`order ${orderId} has no confirmation record to mark sent`);
    return toSent(row);
  }

  async markFailed(orderId: string, token: string, failure: { reason: string; smtpResponse?: string }) {
    await this.settle('failed', orderId, token, failure);
  }

  async release(orderId: string, token: string, failure: { reason: string; smtpResponse?: string }) {
    await this.settle('deferred', orderId, token, failure);
  }

  private async settle(
    status: 'failed' | 'deferred',
    orderId: string,
    token: string,
    failure: { reason: string; smtpResponse?: string },
  ) {
    // Only the holder of the claim settles it: after a lease expired, a slow worker's
    // late failure must not overwrite the claim of the worker that took over.
    await this.pool.query(
      `UPDATE order_confirmations
          SET status = $3, failure_reason = $4, smtp_response = $5,
              failed_at = CASE WHEN $3 = 'failed' THEN now() ELSE failed_at END,
              claim_token = NULL, lease_until = NULL, updated_at = now()
        WHERE order_id = $1 AND claim_token = $2 AND status = 'sending'`,
      [orderId, token, status, failure.reason.slice(0, 1000), failure.smtpResponse?.slice(0, 1000) ?? null],
    );
  }
}
