import type { CurrencyCode } from '@notify/contracts';
import { withTransaction } from '@notify/service-kit';
import type { Pool } from '@notify/service-kit';
import type { AttemptRef, AttemptStart, Payment, PaymentRepository } from '../authorize-payment.js';

interface PaymentRow {
  order_id: string;
  status: 'authorized' | 'declined';
  authorization_id: string | null;
  decline_code: string | null;
  decline_reason: string | null;
  amount: string;
  currency: string;
  gateway: string;
  attempts: number;
  message_id: string;
  decided_at: Date;
}

function toPayment(r: PaymentRow): Payment {
  const base = {
    orderId: r.order_id,
    amount: Number(r.amount),
    currency: r.currency as CurrencyCode,
    gateway: r.gateway,
    attempts: r.attempts,
    messageId: r.message_id,
    decidedAt: r.decided_at,
  };
  return r.status === 'authorized'
    ? { ...base, status: 'authorized', authorizationId: r.authorization_id! }
    : { ...base, status: 'declined', declineCode: r.decline_code!, declineReason: r.decline_reason! };
}

export class PgPaymentRepository implements PaymentRepository {
  constructor(private readonly pool: Pool) {}

  async findByOrderId(orderId: string): Promise<Payment | undefined> {
    const { rows } = await this.pool.query<PaymentRow>('SELECT * FROM payments WHERE order_id = $1', [
      orderId,
    ]);
    return rows[0] && toPayment(rows[0]);
  }

  async startAttempt(a: AttemptStart): Promise<AttemptRef> {
    // The attempt number counts this order's earlier attempts; two deliveries of one order
    // racing here collide on (order_id, attempt_no) and the loser is retried.
    const { rows } = await this.pool.query<{ id: string; attempt_no: number }>(
      `INSERT INTO attempts (order_id, attempt_no, message_id, delivery_attempt, redelivered, gateway, started_at)
       SELECT $1, coalesce(max(attempt_no), 0) + 1, $2, $3, $4, $5, $6 FROM attempts WHERE order_id = $1
       RETURNING id::text, attempt_no`,
      [a.orderId, a.messageId, a.deliveryAttempt, a.redelivered, a.gateway, a.startedAt],
    );
    const row = rows[0]!;
    return { id: row.id, attemptNo: row.attempt_no };
  }

  async recordFailure(
    attempt: AttemptRef,
    f: { error: string; transient: boolean; latencyMs: number; finishedAt: Date },
  ): Promise<void> {
    await this.pool.query(
      `UPDATE attempts SET outcome = 'error', error = $2, transient = $3, latency_ms = $4, finished_at = $5
       WHERE id = $1`,
      [attempt.id, f.error, f.transient, f.latencyMs, f.finishedAt],
    );
  }

  async recordResult(attempt: AttemptRef, p: Payment, latencyMs: number): Promise<Payment> {
    const authorized = p.status === 'authorized';
    return withTransaction(this.pool, async (client) => {
      await client.query(
        `UPDATE attempts SET outcome = $2, authorization_id = $3, decline_code = $4, latency_ms = $5,
           finished_at = $6
         WHERE id = $1`,
        [
          attempt.id,
          p.status,
          authorized ? p.authorizationId : null,
          authorized ? null : p.declineCode,
          latencyMs,
          p.decidedAt,
        ],
      );
      const inserted = await client.query<PaymentRow>(
        `INSERT INTO payments (order_id, status, authorization_id, decline_code, decline_reason, amount, currency,
           gateway, attempts, message_id, decided_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (order_id) DO NOTHING
         RETURNING *`,
        [
          p.orderId,
          p.status,
          authorized ? p.authorizationId : null,
          authorized ? null : p.declineCode,
          authorized ? null : p.declineReason,
          p.amount,
          p.currency,
          p.gateway,
          p.attempts,
          p.messageId,
          p.decidedAt,
        ],
      );
      if (inserted.rows[0]) return toPayment(inserted.rows[0]);
      const { rows } = await client.query<PaymentRow>('SELECT * FROM payments WHERE order_id = $1', [
        p.orderId,
      ]);
      return toPayment(rows[0]!);
    });
  }
}
