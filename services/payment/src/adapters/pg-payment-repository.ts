import type { CurrencyCode } from '@notify/contracts';
import { byUuid, withTransaction } from '@notify/service-kit';
import type { Pool } from '@notify/service-kit';
import type {
  AttemptFailure,
  AttemptRef,
  AttemptStart,
  FinishedAttempt,
  Payment,
  PaymentRepository,
} from '../authorize-payment.js';

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

  async findByOrderIds(orderIds: readonly string[]): Promise<ReadonlyMap<string, Payment>> {
    const { rows } = await this.pool.query<PaymentRow>(
      'SELECT * FROM payments WHERE order_id = ANY($1::uuid[])',
      [orderIds],
    );
    return byUuid(rows.map(toPayment), (x) => x.orderId, orderIds);
  }

  async startAttempts(attempts: readonly AttemptStart[]): Promise<readonly AttemptRef[]> {
    if (attempts.length === 0) return [];
    // Each order's calls are numbered after its earlier ones, in the window's order; two
    // windows racing on one order collide on (order_id, attempt_no) and the loser is retried.
    const { rows } = await this.pool.query<{ id: string; attempt_no: number; n: string }>(
      `WITH w AS (
         SELECT u.*,
           coalesce((SELECT max(a.attempt_no) FROM attempts a WHERE a.order_id = u.order_id), 0)
             + row_number() OVER (PARTITION BY u.order_id ORDER BY u.n) AS attempt_no
         FROM unnest($1::uuid[], $2::text[], $3::int[], $4::bool[], $5::text[], $6::timestamptz[])
           WITH ORDINALITY AS u (order_id, message_id, delivery_attempt, redelivered, gateway, started_at, n)
       ), inserted AS (
         INSERT INTO attempts (order_id, attempt_no, message_id, delivery_attempt, redelivered, gateway, started_at)
         SELECT order_id, attempt_no, message_id, delivery_attempt, redelivered, gateway, started_at FROM w
         RETURNING id, order_id, attempt_no
       )
       SELECT inserted.id::text, inserted.attempt_no, w.n::text
       FROM inserted JOIN w USING (order_id, attempt_no)
       ORDER BY w.n`,
      [
        attempts.map((a) => a.orderId),
        attempts.map((a) => a.messageId),
        attempts.map((a) => a.deliveryAttempt),
        attempts.map((a) => a.redelivered),
        attempts.map((a) => a.gateway),
        attempts.map((a) => a.startedAt),
      ],
    );
    return rows.map((r) => ({ id: r.id, attemptNo: r.attempt_no }));
  }

  async finishAll(items: readonly FinishedAttempt[]): Promise<readonly (Payment | undefined)[]> {
    if (items.length === 0) return [];
    const failures = items.flatMap((i) => ('failure' in i ? [i] : []));
    const decided = items.flatMap((i) => ('payment' in i ? [i] : []));
    return withTransaction(this.pool, async (client) => {
      if (failures.length > 0) {
        const f = (pick: (x: AttemptFailure) => unknown) => failures.map((i) => pick(i.failure));
        await client.query(
          `UPDATE attempts a SET outcome = 'error', error = w.error, transient = w.transient,
             latency_ms = w.latency_ms, finished_at = w.finished_at
           FROM unnest($1::bigint[], $2::text[], $3::bool[], $4::int[], $5::timestamptz[])
             AS w (id, error, transient, latency_ms, finished_at)
           WHERE a.id = w.id`,
          [
            failures.map((i) => i.attempt.id),
            f((x) => x.error),
            f((x) => x.transient),
            f((x) => x.latencyMs),
            f((x) => x.finishedAt),
          ],
        );
      }
      const stored = new Map<string, Payment>();
      if (decided.length > 0) {
        const p = <T>(pick: (x: Payment) => T) => decided.map((i) => pick(i.payment));
        await client.query(
          `UPDATE attempts a SET outcome = w.outcome, authorization_id = w.authorization_id,
             decline_code = w.decline_code, latency_ms = w.latency_ms, finished_at = w.finished_at
           FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::int[], $6::timestamptz[])
             AS w (id, outcome, authorization_id, decline_code, latency_ms, finished_at)
           WHERE a.id = w.id`,
          [
            decided.map((i) => i.attempt.id),
            p((x) => x.status),
            p((x) => (x.status === 'authorized' ? x.authorizationId : null)),
            p((x) => (x.status === 'declined' ? x.declineCode : null)),
            decided.map((i) => i.latencyMs),
            p((x) => x.decidedAt),
          ],
        );
        // ON CONFLICT DO NOTHING also keeps the first of two payments of one order in the window.
        await client.query(
          `INSERT INTO payments (order_id, status, authorization_id, decline_code, decline_reason, amount, currency,
             gateway, attempts, message_id, decided_at)
           SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[],
             $8::text[], $9::int[], $10::text[], $11::timestamptz[])
           ON CONFLICT (order_id) DO NOTHING`,
          [
            p((x) => x.orderId),
            p((x) => x.status),
            p((x) => (x.status === 'authorized' ? x.authorizationId : null)),
            p((x) => (x.status === 'declined' ? x.declineCode : null)),
            p((x) => (x.status === 'declined' ? x.declineReason : null)),
            p((x) => x.amount),
            p((x) => x.currency),
            p((x) => x.gateway),
            p((x) => x.attempts),
            p((x) => x.messageId),
            p((x) => x.decidedAt),
          ],
        );
        const orderIds = p((x) => x.orderId);
        const { rows } = await client.query<PaymentRow>(
          'SELECT * FROM payments WHERE order_id = ANY($1::uuid[])',
          [orderIds],
        );
        for (const [k, v] of byUuid(rows.map(toPayment), (x) => x.orderId, orderIds)) stored.set(k, v);
      }
      return items.map((i) => ('payment' in i ? stored.get(i.payment.orderId) : undefined));
    });
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

  async recordFailure(attempt: AttemptRef, f: AttemptFailure): Promise<void> {
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
