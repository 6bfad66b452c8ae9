import { randomUUID } from 'node:crypto';
import { withTransaction } from '@notify/service-kit';
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
    const token = randomUUID();
    // $1..$7 of both the first claim (INSERT) and a takeover (UPDATE).
    const claimParams = [
      input.orderId,
      input.deliveryMessageId,
      input.recipient,
      input.locale,
      input.smtpMessageId,
      token,
      input.leaseMs,
    ];
    return withTransaction(this.pool, async (client) => {
      // The row lock serialises concurrent deliveries of one order; the transaction is
      // short, the SMTP call happens after it committed.
      const found = await client.query<Row>(
        `SELECT order_id, status, recipient, locale, smtp_message_id, sent_at, lease_until,
                lease_until > now() AS lease_live
           FROM order_confirmations WHERE order_id = $1 FOR UPDATE`,
        [input.orderId],
      );
      const row = found.rows[0];
      if (!row) {
        const inserted = await client.query(
          `INSERT INTO order_confirmations
             (order_id, status, delivery_message_id, recipient, locale, smtp_message_id, claim_token, lease_until)
           VALUES ($1, 'sending', $2, $3, $4, $5, $6, now() + make_interval(secs => $7::double precision / 1000))
           ON CONFLICT (order_id) DO NOTHING`,
          claimParams,
        );
        // Lost the race to a concurrent first delivery, whose row was not visible to our SELECT.
        if (inserted.rowCount === 0)
          return { kind: 'busy', leaseUntil: new Date(Date.now() + input.leaseMs) };
        return { kind: 'claimed', token, previous: null };
      }
      if (row.status === 'sent') return { kind: 'sent', record: toSent(row) };
      if (row.status === 'sending' && row.lease_live) {
        return { kind: 'busy', leaseUntil: row.lease_until ?? new Date() };
      }
      // A deferred or failed send delivered nothing, and an expired claim belongs to a
      // worker that died: all may be taken over. The newest delivery's recipient and locale win (a replay
      // after the address was corrected).
      await client.query(
        `UPDATE order_confirmations
            SET status = 'sending', delivery_message_id = $2, recipient = $3, locale = $4,
                smtp_message_id = $5, claim_token = $6,
                lease_until = now() + make_interval(secs => $7::double precision / 1000),
                attempts = attempts + 1, failure_reason = NULL, failed_at = NULL, updated_at = now()
          WHERE order_id = $1`,
        claimParams,
      );
      return { kind: 'claimed', token, previous: row.status };
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
