import pg from 'pg';
import type { Pool, PoolClient, PoolConfig } from 'pg';
import { runner } from 'node-pg-migrate';
import type { Logger } from 'pino';

export type { Pool, PoolClient };

const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;

export function assertIdentifier(name: string): string {
  if (!IDENT.test(name)) throw new Error(`"${name}" is not a safe PostgreSQL identifier`);
  return name;
}

/** A pool whose sessions use the service's own schema, so services share a database safely. */
export function createPool(
  options: { url: string; schema: string; max?: number; applicationName?: string } & PoolConfig,
): Pool {
  const { url, schema, max, applicationName, ...rest } = options;
  const pool = new pg.Pool({
    connectionString: url,
    max: max ?? 10,
    application_name: applicationName ?? schema,
    options: `-c search_path=${assertIdentifier(schema)},public`,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    ...rest,
  });
  // An idle client losing its connection (database restart) must not crash the process.
  pool.on('error', () => undefined);
  // Nor a client between owners. pg-pool drops a client's idle listener when it hands
  // the client out (a new one from inside its own startup's ReadyForQuery, an idle one to
  // a waiter from inside the previous owner's release), and the owner attaches its own a
  // microtask later; the rest of that socket chunk is parsed first, synchronously, and a
  // FATAL in it (pg_terminate_backend, a restart) is an 'error' with no listener, which
  // throws. This listener only keeps that from being fatal: the client is marked
  // unusable, its next query fails, and its release discards it.
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
  });
  return pool;
}

/** Applies the SQL migrations in `dir` (node-pg-migrate format) to `schema`, under an advisory lock. */
export async function migrate(options: {
  url: string;
  schema: string;
  dir: string;
  logger?: Logger;
}): Promise<string[]> {
  const schema = assertIdentifier(options.schema);
  const log = options.logger;
  // One session for the look and the migrations. The runner's CREATE SCHEMA IF NOT EXISTS
  // needs CREATE on the database even when the schema is there, so it is only asked for
  // when the schema is missing: a deployed service owns a schema made for it and needs no
  // right over the database itself.
  const client = new pg.Client({ connectionString: options.url, connectionTimeoutMillis: 5_000 });
  // A connection lost mid-query rejects the query; without a listener it would also throw.
  client.on('error', () => undefined);
  await client.connect();
  try {
    // The role's statement_timeout (infra/postgres) bounds the service's own queries; a
    // migration, or the wait for another replica's under the advisory lock, may take longer.
    await client.query('SET statement_timeout = 0');
    const found = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    const create = found.rowCount !== 1;
    const done = await runner({
      dbClient: client,
      dir: options.dir,
      direction: 'up',
      schema,
      createSchema: create,
      migrationsSchema: schema,
      createMigrationsSchema: create,
      migrationsTable: 'schema_migrations',
      advisoryLockMode: 'wait',
      checkOrder: true,
      log: (msg: string) => log?.debug({ component: 'migrate' }, msg),
      verbose: false,
    });
    const names = done.map((m) => m.name);
    if (names.length) log?.info({ migrations: names, schema }, 'migrations applied');
    return names;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function withTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  // A connection dying between queries emits 'error' on the checked-out client; without
  // a listener that would crash the process instead of failing this transaction.
  const onError = () => undefined;
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.off('error', onError);
    client.release();
  }
}

export async function pingDatabase(pool: Pool): Promise<boolean> {
  try {
    await pool.query('SELECT 1');
    return true;
  } catch {
    return false;
  }
}
