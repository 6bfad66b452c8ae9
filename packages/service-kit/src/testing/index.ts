export * from './delivery-meta.js';
export * from './order-events-tap.js';
export * from './tcp-proxy.js';
import { randomBytes } from 'node:crypto';
import { scratchNameAge, STALE_AFTER_MS } from '@notify/messaging/testing';
import pg from 'pg';

// Each suite that needs PostgreSQL gets a database of its own, dropped afterwards, so
// suites run in parallel and repeatedly.

export const ADMIN_DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  drop(): Promise<void>;
}

/**
 * Drops databases named `<prefix>_<base36 ms>_<6 hex>` older than `olderThanMs`, and the
 * roles named after them (`<database>_...`): what suites killed before their cleanup
 * left behind. Best effort; running suites' databases are far younger.
 */
export async function removeStaleDatabases(prefix: string, olderThanMs = STALE_AFTER_MS): Promise<string[]> {
  if (!/^[a-z0-9_]+$/.test(prefix)) return [];
  const admin = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  admin.on('error', () => undefined);
  await admin.connect();
  try {
    const { rows } = await admin.query<{ datname: string }>('SELECT datname FROM pg_database');
    const stale = rows
      .map((r) => r.datname)
      .filter((n) => (scratchNameAge(n, prefix, '_') ?? 0) > olderThanMs);
    for (const name of stale) {
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      const roles = await admin.query<{ rolname: string }>(
        "SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1 || '_')",
        [name],
      );
      for (const r of roles.rows) await admin.query(`DROP ROLE IF EXISTS "${r.rolname}"`);
    }
    return stale;
  } finally {
    await admin.end();
  }
}

export async function createTestDatabase(prefix = 'test'): Promise<TestDatabase> {
  const name = `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`.replace(
    /[^a-z0-9_]/g,
    '_',
  );
  await removeStaleDatabases(prefix.replace(/[^a-z0-9_]/g, '_')).catch(() => undefined);
  const admin = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const u = new URL(ADMIN_DATABASE_URL);
  u.pathname = `/${name}`;
  return {
    name,
    url: u.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
