import type {
  CapturedLetter,
  FirstDeath,
  JsonValue,
  LetterProperties,
  ReplayableLetter,
} from '@notify/messaging';
import { DependencyUnavailableError } from '@notify/messaging';
import { withTransaction } from '@notify/service-kit';
import type { Pool } from '@notify/service-kit';

/** A dead letter (or unroutable message) as the park keeps it. */
export interface ParkedLetter extends ReplayableLetter {
  readonly id: string;
  readonly queue: string;
  readonly exchange: string;
  readonly reason: string;
  readonly detail: string | null;
  readonly deadLetteredAt: string | null;
  readonly firstDeath: FirstDeath | null;
  readonly attempts: number | null;
  readonly parkedAt: string;
}

export interface ParkSummary {
  readonly queue: string;
  readonly count: number;
  readonly oldest: ParkedLetter | null;
  /** Letters per reason, most frequent first, each with the detail of its first letter. */
  readonly reasons: readonly { reason: string; count: number; example: string | null }[];
}

export interface ReplayOutcome {
  readonly replayed: readonly ParkedLetter[];
  /** Requested ids that are not parked in this queue (or another replay holds them). */
  readonly notFound: readonly string[];
}

interface Row {
  id: string;
  queue: string;
  message_id: string;
  exchange: string;
  routing_key: string;
  properties: LetterProperties;
  headers: Record<string, JsonValue>;
  body: Buffer;
  reason: string;
  detail: string | null;
  dead_lettered_at: Date | null;
  first_death: FirstDeath | null;
  attempts: number | null;
  replays: number;
  published_by: string | null;
  parked_at: Date;
}

const COLUMNS = `id::text, queue, message_id, exchange, routing_key, properties, headers, body, reason, detail,
  dead_lettered_at, first_death, attempts, replays, published_by, parked_at`;

/** How many reasons a summary names per queue; the rest are counted in `count` only. */
const MAX_REASONS = 50;
/** Letters replayed per transaction: each holds its rows locked until the broker confirmed them. */
const REPLAY_BATCH = 100;

function letterOf(r: Row): ParkedLetter {
  return {
    id: r.id,
    queue: r.queue,
    messageId: r.message_id,
    exchange: r.exchange,
    routingKey: r.routing_key,
    properties: r.properties,
    headers: r.headers,
    body: r.body,
    reason: r.reason,
    detail: r.detail,
    deadLetteredAt: r.dead_lettered_at?.toISOString() ?? null,
    firstDeath: r.first_death,
    attempts: r.attempts,
    replays: r.replays,
    publishedBy: r.published_by,
    parkedAt: r.parked_at.toISOString(),
  };
}

/**
 * The park: dead letters and unroutable messages taken out of the broker and kept in
 * PostgreSQL. Reading it never touches the broker; replaying a letter publishes it
 * (confirmed) and only then deletes its row, in one transaction that holds the row
 * locked so two replays never publish it twice.
 */
export class ParkedLetters {
  /**
   * @param maxLetters The park's cap (PARKED_LETTERS_MAX): once it holds this many letters,
   *   `park` refuses new ones (see there) instead of dropping any. Drains running side by
   *   side may each add one past it.
   */
  constructor(
    private readonly pool: Pool,
    readonly maxLetters = Number.POSITIVE_INFINITY,
  ) {}

  /**
   * Keeps a letter; true when it was new (a second park of the same queue and id keeps the
   * first). When the park is full it throws DependencyUnavailableError('park'): the drain
   * then holds the message, leaves the rest in the broker's queue and stops taking more
   * (not ready, naming the cap) until replays or deletions make room, and goes on by itself.
   * No letter is ever dropped to make room.
   */
  async park(l: CapturedLetter): Promise<boolean> {
    const cap = Number.isFinite(this.maxLetters) ? this.maxLetters : null;
    const { rowCount } = await this.pool.query(
      `INSERT INTO parked_letters (queue, message_id, exchange, routing_key, properties, headers, body, reason,
         detail, dead_lettered_at, first_death, attempts, replays, published_by)
       SELECT $1, $2, $3, $4, $5::jsonb, $6::jsonb, $7, $8, $9, $10, $11::jsonb, $12, $13, $14
       WHERE $15::bigint IS NULL OR (SELECT count(*) FROM parked_letters) < $15::bigint
       ON CONFLICT ON CONSTRAINT parked_letters_once DO NOTHING`,
      [
        l.queue,
        l.messageId,
        l.exchange,
        l.routingKey,
        JSON.stringify(l.properties),
        JSON.stringify(l.headers),
        l.body,
        l.reason,
        l.detail,
        l.deadLetteredAt,
        l.firstDeath ? JSON.stringify(l.firstDeath) : null,
        l.attempts,
        l.replays,
        l.publishedBy,
        cap,
      ],
    );
    if (rowCount === 1) return true;
    if (cap === null) return false;
    const { rowCount: kept } = await this.pool.query(
      'SELECT 1 FROM parked_letters WHERE queue = $1 AND message_id = $2',
      [l.queue, l.messageId],
    );
    if (kept) return false;
    throw new DependencyUnavailableError(
      'park',
      `the park is full (PARKED_LETTERS_MAX=${cap} letters); replay or delete parked letters to make room, the rest wait in ${l.queue}`,
    );
  }

  /** Count, oldest and reasons of each of `queues` (in that order), from three indexed queries. */
  async summaries(queues: readonly string[]): Promise<ParkSummary[]> {
    const [reasons, oldest] = await Promise.all([
      this.pool.query<{ queue: string; reason: string; count: number; example: string | null }>(
        `SELECT queue, reason, count(*)::int AS count, (array_agg(detail ORDER BY id))[1] AS example
         FROM parked_letters WHERE queue = ANY($1::text[])
         GROUP BY queue, reason ORDER BY queue, count DESC, reason`,
        [queues],
      ),
      this.pool.query<Row>(
        `SELECT DISTINCT ON (queue) ${COLUMNS} FROM parked_letters WHERE queue = ANY($1::text[])
         ORDER BY queue, coalesce(dead_lettered_at, parked_at), id`,
        [queues],
      ),
    ]);
    return queues.map((queue) => {
      const own = reasons.rows.filter((r) => r.queue === queue);
      const first = oldest.rows.find((r) => r.queue === queue);
      return {
        queue,
        count: own.reduce((n, r) => n + r.count, 0),
        oldest: first ? letterOf(first) : null,
        reasons: own.slice(0, MAX_REASONS).map(({ reason, count, example }) => ({ reason, count, example })),
      };
    });
  }

  /** One page of a queue's letters, oldest parked first, after the letter `after` (an id). */
  async page(queue: string, options: { after?: string; limit: number }): Promise<ParkedLetter[]> {
    const { rows } = await this.pool.query<Row>(
      `SELECT ${COLUMNS} FROM parked_letters WHERE queue = $1 AND id > $2::bigint ORDER BY id LIMIT $3`,
      [queue, options.after ?? '0', options.limit],
    );
    return rows.map(letterOf);
  }

  /**
   * Replays the chosen letters of one queue: those with `messageIds`, or the oldest
   * `limit` of them. Each is handed to `republish` (which publishes it, confirmed) and
   * its row deleted in the same transaction; a republish that fails stops the replay,
   * keeps that letter and every one after it, and is thrown once the letters already
   * published are deleted. If the delete itself is lost (the database goes away after
   * the broker confirmed), the letter stays parked and a later replay publishes it
   * again with the same message id, which the consumer's idempotency absorbs.
   */
  async replay(
    queue: string,
    selection: { messageIds?: readonly string[]; limit: number },
    republish: (letter: ParkedLetter) => Promise<void>,
  ): Promise<ReplayOutcome> {
    const replayed: ParkedLetter[] = [];
    const ids = selection.messageIds ? [...selection.messageIds] : null;
    for (;;) {
      const want = Math.min(REPLAY_BATCH, selection.limit - replayed.length);
      if (want <= 0) break;
      const batch = await withTransaction(this.pool, async (client) => {
        const { rows } = await client.query<Row>(
          `SELECT ${COLUMNS} FROM parked_letters
           WHERE queue = $1 AND ($2::text[] IS NULL OR message_id = ANY($2::text[]))
           ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED`,
          [queue, ids, want],
        );
        const done: ParkedLetter[] = [];
        let failure: unknown = null;
        for (const row of rows) {
          const letter = letterOf(row);
          try {
            await republish(letter);
          } catch (err) {
            failure = err;
            break;
          }
          done.push(letter);
        }
        if (done.length) {
          await client.query('DELETE FROM parked_letters WHERE id = ANY($1::bigint[])', [
            done.map((l) => l.id),
          ]);
        }
        return { found: rows.length, done, failure };
      });
      replayed.push(...batch.done);
      if (batch.failure !== null) throw batch.failure;
      if (batch.found < want) break;
    }
    const got = new Set(replayed.map((l) => l.messageId));
    return { replayed, notFound: ids ? ids.filter((id) => !got.has(id)) : [] };
  }

  /** Letters parked per queue, for the metrics gauge and the console. */
  async counts(): Promise<Map<string, number>> {
    const { rows } = await this.pool.query<{ queue: string; n: number }>(
      'SELECT queue, count(*)::int AS n FROM parked_letters GROUP BY queue',
    );
    return new Map(rows.map((r) => [r.queue, r.n]));
  }
}
