import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { ADMIN_DATABASE_URL, removeStaleDatabases } from '@notify/service-kit/testing';
import pg from 'pg';
import { repoPath } from '../repo-paths.js';
import { SERVICES } from '../service-catalogue.js';

// Runs infra/postgres/init/10-notify.sh against the PostgreSQL server on this machine,
// as the postgres image would on first start, into a database of its own and with role
// names unique to this run (roles are server-wide). drop() removes both again.

const run = promisify(execFile);

export interface ScratchPostgres {
  readonly database: string;
  role(schema: string): string;
  /** URL that logs in as the service's role. */
  url(schema: string): string;
  drop(): Promise<void>;
}

export async function createScratchPostgres(
  prefix = 'infra',
  /** More variables for the init script (a role's connection limit, the timeouts). */
  extraEnv: Readonly<Record<string, string>> = {},
): Promise<ScratchPostgres> {
  // A run killed before its drop() (a cancelled CI run) leaves its database and roles.
  await removeStaleDatabases(prefix).catch(() => undefined);
  const database = `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const rolePrefix = `${database}_`;
  const admin = new URL(ADMIN_DATABASE_URL);
  const passwords = new Map(SERVICES.map((s) => [s.schema, randomBytes(12).toString('hex')]));
  const role = (schema: string) => `${rolePrefix}${schema}`;

  const drop = async () => {
    const client = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
    await client.connect();
    try {
      await client.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
      for (const s of SERVICES) await client.query(`DROP ROLE IF EXISTS "${role(s.schema)}"`);
    } finally {
      await client.end();
    }
  };

  try {
    await run('sh', [repoPath('infra/postgres/init/10-notify.sh')], {
      env: {
        ...process.env,
        NOTIFY_SQL_DIR: repoPath('infra/postgres/sql'),
        NOTIFY_DATABASE: database,
        NOTIFY_ROLE_PREFIX: rolePrefix,
        POSTGRES_USER: decodeURIComponent(admin.username || 'postgres'),
        PGHOST: admin.hostname,
        PGPORT: admin.port || '5432',
        ...(admin.password ? { PGPASSWORD: decodeURIComponent(admin.password) } : {}),
        ...Object.fromEntries(
          [...passwords].map(([schema, pw]) => [`${schema.toUpperCase()}_DB_PASSWORD`, pw]),
        ),
        ...extraEnv,
      },
    });
  } catch (err) {
    await drop();
    throw err;
  }

  return {
    database,
    role,
    url(schema) {
      const u = new URL(ADMIN_DATABASE_URL);
      u.username = role(schema);
      u.password = passwords.get(schema) ?? '';
      u.pathname = `/${database}`;
      return u.toString();
    },
    drop,
  };
}
