import { createHash } from 'node:crypto';
import { byUuid, withTransaction } from '@notify/service-kit';
import type { Pool, PoolClient } from '@notify/service-kit';
import type {
  AssessmentRepository,
  AssessmentRequest,
  StoredAssessment,
  VelocityKeys,
} from '../assess-order.js';
import type { Assessment, Decision, FiredRule, HistoryCounts } from '../score-order.js';

// First half of the two-key advisory lock space, so these locks never meet another
// component's locks in the same database ("FRAD"; the one-bigint key space is separate).
const LOCK_CLASS = 0x46524144;

type KeyKind = keyof VelocityKeys;

/** SHA-256 of the kind and the normalised value: what the history table stores and locks on. */
export function keyDigest(kind: KeyKind, value: string): Buffer {
  return createHash('sha256').update(`${kind}:${value}`).digest();
}

interface AssessmentRow {
  order_id: string;
  score: number;
  decision: Decision;
  rules: FiredRule[];
  history: HistoryCounts;
  rules_version: string;
  assessed_at: Date;
}

const COLUMNS = 'order_id, score, decision, rules, history, rules_version, assessed_at';

function toStored(row: AssessmentRow): StoredAssessment {
  return {
    orderId: row.order_id,
    score: row.score,
    decision: row.decision,
    rules: row.rules,
    history: row.history,
    rulesVersion: row.rules_version,
    assessedAt: row.assessed_at.toISOString(),
  };
}

// Counts other orders placed less than the window apart from this one, on either side:
// messages can be assessed out of order (a retry), and counting both directions means
// that of any two orders sharing a key, the one assessed second counts the first.
const COUNT_HISTORY = `
  SELECT
    (SELECT count(*) FROM observations
      WHERE email_hash = $2 AND order_id <> $1
        AND placed_at > $5::timestamptz - make_interval(mins => $6)
        AND placed_at < $5::timestamptz + make_interval(mins => $6)) AS email,
    (SELECT count(*) FROM observations
      WHERE phone_hash = $3 AND order_id <> $1
        AND placed_at > $5::timestamptz - make_interval(mins => $7)
        AND placed_at < $5::timestamptz + make_interval(mins => $7)) AS phone,
    CASE WHEN $4::bytea IS NULL THEN NULL ELSE
      (SELECT count(*) FROM observations
        WHERE ip_hash = $4 AND order_id <> $1
          AND placed_at > $5::timestamptz - make_interval(mins => $8)
          AND placed_at < $5::timestamptz + make_interval(mins => $8)) END AS ip,
    (SELECT count(*) FROM observations
      WHERE email_hash = $2 AND order_id <> $1
        AND placed_at > $5::timestamptz - make_interval(mins => $9)
        AND placed_at < $5::timestamptz + make_interval(mins => $9)) AS email_lookback`;

export class PgAssessmentRepository implements AssessmentRepository {
  constructor(private readonly pool: Pool) {}

  async find(orderId: string): Promise<StoredAssessment | undefined> {
    const r = await this.pool.query<AssessmentRow>(`SELECT ${COLUMNS} FROM assessments WHERE order_id = $1`, [
      orderId,
    ]);
    return r.rows[0] ? toStored(r.rows[0]) : undefined;
  }

  async findMany(orderIds: readonly string[]): Promise<ReadonlyMap<string, StoredAssessment>> {
    const r = await this.pool.query<AssessmentRow>(
      `SELECT ${COLUMNS} FROM assessments WHERE order_id = ANY($1::uuid[])`,
      [orderIds],
    );
    return byUuid(r.rows.map(toStored), (x) => x.orderId, orderIds);
  }

  async assessOnce(
    request: AssessmentRequest,
    score: (history: HistoryCounts) => Assessment,
  ): Promise<{ stored: StoredAssessment; created: boolean }> {
    const [result] = await this.assessAll([{ request, score }]);
    return result!;
  }

  /**
   * assessOnce for a window in one transaction: the locks of every key of every order in
   * one statement, one check for orders assessed meanwhile, then each order counted and
   * stored in turn (an order counts those before it in the window, as it would have
   * counted them committed), and one commit.
   */
  async assessAll(
    items: readonly { request: AssessmentRequest; score: (history: HistoryCounts) => Assessment }[],
  ): Promise<readonly { stored: StoredAssessment; created: boolean }[]> {
    if (items.length === 0) return [];
    const digests = items.map(({ request }) => ({
      email: keyDigest('email', request.keys.email),
      phone: keyDigest('phone', request.keys.phone),
      ip: request.keys.ip === null ? null : keyDigest('ip', request.keys.ip),
    }));
    return withTransaction(this.pool, async (client) => {
      await lockKeys(
        client,
        digests.flatMap((d) => [d.email, d.phone, ...(d.ip ? [d.ip] : [])]),
      );
      // A concurrent delivery of the same order may have committed while we waited.
      const before = await client.query<AssessmentRow>(
        `SELECT ${COLUMNS} FROM assessments WHERE order_id = ANY($1::uuid[])`,
        [items.map((i) => i.request.orderId)],
      );
      const done = byUuid(
        before.rows.map(toStored),
        (a) => a.orderId,
        items.map((i) => i.request.orderId),
      );
      const results: { stored: StoredAssessment; created: boolean }[] = [];
      for (const [k, { request, score }] of items.entries()) {
        const stored = done.get(request.orderId);
        if (stored) {
          results.push({ stored, created: false });
          continue;
        }
        const result = await assessLocked(client, request, score, digests[k]!);
        if (result.created) done.set(request.orderId, result.stored);
        results.push(result);
      }
      return results;
    });
  }
}

/** Counts, scores and stores one order whose keys this transaction holds locked. */
async function assessLocked(
  client: PoolClient,
  request: AssessmentRequest,
  score: (history: HistoryCounts) => Assessment,
  { email, phone, ip }: { email: Buffer; phone: Buffer; ip: Buffer | null },
): Promise<{ stored: StoredAssessment; created: boolean }> {
  const w = request.windows;
  const counts = await client.query<{
    email: string;
    phone: string;
    ip: string | null;
    email_lookback: string;
  }>(COUNT_HISTORY, [
    request.orderId,
    email,
    phone,
    ip,
    request.placedAt,
    w.emailMinutes,
    w.phoneMinutes,
    w.ipMinutes,
    w.lookbackMinutes,
  ]);
  const c = counts.rows[0]!;
  const history: HistoryCounts = {
    email: Number(c.email),
    phone: Number(c.phone),
    ip: c.ip === null ? null : Number(c.ip),
    emailLookback: Number(c.email_lookback),
  };
  const assessment = score(history);
  // The assessment and the order's own observation in one statement.
  const inserted = await client.query<AssessmentRow>(
    `WITH assessed AS (
       INSERT INTO assessments
         (order_id, message_id, score, decision, rules, history, rules_version, amount, currency)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (order_id) DO NOTHING
       RETURNING ${COLUMNS}
     ), observed AS (
       INSERT INTO observations (order_id, placed_at, email_hash, phone_hash, ip_hash)
       SELECT order_id, $10, $11, $12, $13 FROM assessed
     )
     SELECT * FROM assessed`,
    [
      request.orderId,
      request.messageId,
      assessment.score,
      assessment.decision,
      JSON.stringify(assessment.rules),
      JSON.stringify(history),
      request.rulesVersion,
      request.amount,
      request.currency,
      request.placedAt,
      email,
      phone,
      ip,
    ],
  );
  if (!inserted.rows[0]) {
    // Only reachable if the same order id arrived with different keys; the first one stands.
    const existing = await client.query<AssessmentRow>(
      `SELECT ${COLUMNS} FROM assessments WHERE order_id = $1`,
      [request.orderId],
    );
    return { stored: toStored(existing.rows[0]!), created: false };
  }
  return { stored: toStored(inserted.rows[0]), created: true };
}

/**
 * Transaction-scoped advisory locks on each key, taken in one global order so two
 * orders that share several keys cannot deadlock. Held until commit, which makes the
 * window count and the insert of this order's observation one step for everyone
 * counting the same keys.
 */
async function lockKeys(client: PoolClient, digests: readonly Buffer[]): Promise<void> {
  const ids = [...new Set(digests.map((d) => d.readInt32BE(0)))].sort((a, b) => a - b);
  // One statement, the locks taken row by row in the subquery's order.
  await client.query(
    `SELECT count(pg_advisory_xact_lock($1::int4, id))
     FROM (SELECT id FROM unnest($2::int4[]) WITH ORDINALITY AS k (id, n) ORDER BY n) AS ordered`,
    [LOCK_CLASS, ids],
  );
}
