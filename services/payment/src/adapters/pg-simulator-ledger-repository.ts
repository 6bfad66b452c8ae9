import type { CurrencyCode } from '@notify/contracts';
import type { Pool } from '@notify/service-kit';
import type { AuthorizationResult } from '../payment-gateway.js';
import type { LedgerEntry, SimulatorLedgerRepository } from './simulated-payment-gateway.js';

interface LedgerRow {
  idempotency_key: string;
  amount: string;
  currency: string;
  token_fingerprint: string;
  calls: number;
  status: 'authorized' | 'declined' | null;
  authorization_id: string | null;
  decline_code: string | null;
  decline_reason: string | null;
}

function toResult(row: LedgerRow): AuthorizationResult | undefined {
  if (row.status === 'authorized') return { status: 'authorized', authorizationId: row.authorization_id! };
  if (row.status === 'declined')
    return { status: 'declined', code: row.decline_code!, reason: row.decline_reason! };
  return undefined;
}

/** The simulated processor's ledger in PostgreSQL, so its idempotency survives restarts. */
export class PgSimulatorLedgerRepository implements SimulatorLedgerRepository {
  constructor(private readonly pool: Pool) {}

  async recordCall(
    key: string,
    params: { amount: number; currency: CurrencyCode; tokenFingerprint: string },
    at: Date,
  ): Promise<LedgerEntry> {
    // One statement: counting and creating are atomic even for concurrent calls with one key.
    const { rows } = await this.pool.query<LedgerRow>(
      `INSERT INTO simulated_processor_ledger
         (idempotency_key, amount, currency, token_fingerprint, first_call_at, last_call_at)
       VALUES ($1, $2, $3, $4, $5, $5)
       ON CONFLICT (idempotency_key) DO UPDATE
         SET calls = simulated_processor_ledger.calls + 1, last_call_at = EXCLUDED.last_call_at
       RETURNING *`,
      [key, params.amount, params.currency, params.tokenFingerprint, at],
    );
    const row = rows[0]!;
    return {
      idempotencyKey: row.idempotency_key,
      amount: Number(row.amount),
      currency: row.currency as CurrencyCode,
      tokenFingerprint: row.token_fingerprint,
      calls: row.calls,
      result: toResult(row),
    };
  }

  async settle(key: string, result: AuthorizationResult, at: Date): Promise<AuthorizationResult> {
    const authorized = result.status === 'authorized';
    await this.pool.query(
      `UPDATE simulated_processor_ledger
         SET status = $2, authorization_id = $3, decline_code = $4, decline_reason = $5, settled_at = $6
       WHERE idempotency_key = $1 AND status IS NULL`,
      [
        key,
        result.status,
        authorized ? result.authorizationId : null,
        authorized ? null : result.code,
        authorized ? null : result.reason,
        at,
      ],
    );
    const { rows } = await this.pool.query<LedgerRow>(
      'SELECT * FROM simulated_processor_ledger WHERE idempotency_key = $1',
      [key],
    );
    const stored = rows[0] && toResult(rows[0]);
    if (!stored) throw new Error(`simulated processor ledger lost the entry for ${key}`);
    return stored;
  }
}
