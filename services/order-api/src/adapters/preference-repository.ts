import type { PreferenceChannel } from '@notify/contracts';
import type { Pool } from '@notify/service-kit';

/** Who changed a preference last: a client through the API, or the customer through a link. */
export type PreferenceSource = 'api' | 'unsubscribe-link';

export interface PreferenceRecord {
  readonly client: string;
  readonly customerKey: string;
  readonly email: { readonly optedOut: boolean };
  readonly whatsapp: { readonly optedOut: boolean };
  readonly source: PreferenceSource;
  readonly version: number;
  readonly updatedAt: Date;
}

interface Row {
  client: string;
  customer_key: string;
  email_opted_out: boolean;
  whatsapp_opted_out: boolean;
  source: PreferenceSource;
  version: string;
  updated_at: Date;
}

const COLUMNS = 'client, customer_key, email_opted_out, whatsapp_opted_out, source, version, updated_at';

function recordOf(row: Row): PreferenceRecord {
  return {
    client: row.client,
    customerKey: row.customer_key,
    email: { optedOut: row.email_opted_out },
    whatsapp: { optedOut: row.whatsapp_opted_out },
    source: row.source,
    version: Number(row.version),
    updatedAt: row.updated_at,
  };
}

// A write that changes nothing keeps the version, so a repeated PUT or a second click
// of the same link publishes nothing new.
const PUT_SQL = `
INSERT INTO customer_preferences AS p (client, customer_key, email_opted_out, whatsapp_opted_out, source)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (client, customer_key) DO UPDATE
SET email_opted_out = EXCLUDED.email_opted_out,
    whatsapp_opted_out = EXCLUDED.whatsapp_opted_out,
    source = EXCLUDED.source,
    version = p.version + 1,
    updated_at = now()
WHERE (p.email_opted_out, p.whatsapp_opted_out) IS DISTINCT FROM
      (EXCLUDED.email_opted_out, EXCLUDED.whatsapp_opted_out)
RETURNING ${COLUMNS}`;

const OPT_OUT_SQL = (column: string) => `
INSERT INTO customer_preferences AS p (client, customer_key, ${column}, source)
VALUES ($1, $2, true, $3)
ON CONFLICT (client, customer_key) DO UPDATE
SET ${column} = true, source = EXCLUDED.source, version = p.version + 1, updated_at = now()
WHERE NOT p.${column}
RETURNING ${COLUMNS}`;

/** Customer preferences in the API's own schema, per client and customer key. */
export class PreferenceRepository {
  constructor(private readonly pool: Pool) {}

  async get(client: string, customerKey: string): Promise<PreferenceRecord | null> {
    const { rows } = await this.pool.query<Row>(
      `SELECT ${COLUMNS} FROM customer_preferences WHERE client = $1 AND customer_key = $2`,
      [client, customerKey],
    );
    return rows[0] ? recordOf(rows[0]) : null;
  }

  /** Sets both channels; returns the record and whether this write changed it. */
  async put(
    client: string,
    customerKey: string,
    prefs: { email: { optedOut: boolean }; whatsapp: { optedOut: boolean } },
    source: PreferenceSource,
  ): Promise<{ record: PreferenceRecord; changed: boolean }> {
    const { rows } = await this.pool.query<Row>(PUT_SQL, [
      client,
      customerKey,
      prefs.email.optedOut,
      prefs.whatsapp.optedOut,
      source,
    ]);
    if (rows[0]) return { record: recordOf(rows[0]), changed: true };
    const current = await this.get(client, customerKey);
    if (!current) throw new Error('a preference row vanished between its write and its read');
    return { record: current, changed: false };
  }

  /** Opts one channel out, keeping the other as it is. */
  async optOut(
    client: string,
    customerKey: string,
    channel: PreferenceChannel,
    source: PreferenceSource,
  ): Promise<{ record: PreferenceRecord; changed: boolean }> {
    const column = channel === 'email' ? 'email_opted_out' : 'whatsapp_opted_out';
    const { rows } = await this.pool.query<Row>(OPT_OUT_SQL(column), [client, customerKey, source]);
    if (rows[0]) return { record: recordOf(rows[0]), changed: true };
    const current = await this.get(client, customerKey);
    if (!current) throw new Error('a preference row vanished between its write and its read');
    return { record: current, changed: false };
  }

  /** Records that the broker confirmed `version` (or a later one was confirmed before). */
  async markPublished(client: string, customerKey: string, version: number): Promise<void> {
    await this.pool.query(
      `UPDATE customer_preferences SET published_version = GREATEST(published_version, $3)
       WHERE client = $1 AND customer_key = $2`,
      [client, customerKey, version],
    );
  }

  /** Rows whose current version the broker has not confirmed yet, oldest change first. */
  async unpublished(limit: number): Promise<PreferenceRecord[]> {
    const { rows } = await this.pool.query<Row>(
      `SELECT ${COLUMNS} FROM customer_preferences WHERE published_version < version
       ORDER BY updated_at LIMIT $1`,
      [limit],
    );
    return rows.map(recordOf);
  }
}
