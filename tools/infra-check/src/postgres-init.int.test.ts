import { readFile } from 'node:fs/promises';
import { waitFor } from '@notify/messaging/testing';
import { migrate } from '@notify/service-kit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { roleConnectionLimits } from './postgres/connection-budget.js';
import { repoPath } from './repo-paths.js';
import { SERVICES } from './service-catalogue.js';
import { createScratchPostgres } from './testing/scratch-postgres.js';
import type { ScratchPostgres } from './testing/scratch-postgres.js';

// Runs the compose stack's PostgreSQL init script against the real server and checks
// what each service's role may do: everything in its own schema, nothing elsewhere.

let db: ScratchPostgres;
const clients: pg.Client[] = [];

beforeAll(async () => {
  db = await createScratchPostgres('pginit');
});

afterAll(async () => {
  for (const c of clients) await c.end().catch(() => undefined);
  await db?.drop();
});

async function connectAs(schema: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: db.url(schema) });
  await c.connect();
  clients.push(c);
  return c;
}

describe('infra/postgres/init/10-notify.sh', () => {
  it.each(SERVICES)('lets the $name role run its migrations and use its own schema', async (s) => {
    const c = await connectAs(s.schema);
    expect((await c.query('SHOW search_path')).rows[0].search_path).toBe(s.schema);
    // What the service does on every start, twice: the second finds nothing to apply.
    const applied = await migrate({
      url: db.url(s.schema),
      schema: s.schema,
      dir: repoPath(s.dir, 'migrations'),
    });
    expect(applied.length).toBeGreaterThan(0);
    expect(
      await migrate({ url: db.url(s.schema), schema: s.schema, dir: repoPath(s.dir, 'migrations') }),
    ).toEqual([]);
    await c.query(`CREATE TABLE "${s.schema}".probe (id int PRIMARY KEY)`);
    await c.query(`INSERT INTO "${s.schema}".probe VALUES (1)`);
    expect((await c.query(`SELECT count(*)::int AS n FROM probe`)).rows[0].n).toBe(1);
  });

  it("refuses a role any other service's schema and the public schema", async () => {
    const [first, second] = SERVICES;
    const other = await connectAs(second!.schema);
    await other.query(`CREATE TABLE IF NOT EXISTS "${second!.schema}".secret (id int)`);
    const c = await connectAs(first!.schema);
    await expect(c.query(`SELECT * FROM "${second!.schema}".secret`)).rejects.toThrow(/permission denied/);
    await expect(c.query(`CREATE TABLE "${second!.schema}".intruder (id int)`)).rejects.toThrow(
      /permission denied/,
    );
    await expect(c.query('CREATE TABLE public.intruder (id int)')).rejects.toThrow(/permission denied/);
    // No right over the database itself: not even a schema of its own making.
    await expect(c.query('CREATE SCHEMA intruder')).rejects.toThrow(/permission denied/);
  });
});

describe("infra/postgres/init/10-notify.sh: each role's limits", () => {
  it.each(SERVICES)(
    'gives the $name role its CONNECTION LIMIT, a statement_timeout and an idle-in-transaction timeout',
    async (s) => {
      const limits = roleConnectionLimits(
        await readFile(repoPath('infra/postgres/init/10-notify.sh'), 'utf8'),
      );
      const c = await connectAs(s.schema);
      expect((await c.query('SHOW statement_timeout')).rows[0].statement_timeout).toBe('30s');
      expect(
        (await c.query('SHOW idle_in_transaction_session_timeout')).rows[0]
          .idle_in_transaction_session_timeout,
      ).toBe('1min');
      const { rows } = await c.query<{ rolconnlimit: number }>(
        'SELECT rolconnlimit FROM pg_roles WHERE rolname = current_user',
      );
      expect(rows[0]?.rolconnlimit).toBe(limits[s.schema]);
      expect(limits[s.schema]).toBeGreaterThan(0);
    },
  );

  it('enforces them: a long statement is cancelled, an idle transaction ended, a connection past the limit refused', async () => {
    const small = await createScratchPostgres('pglimits', {
      FRAUD_DB_CONNECTION_LIMIT: '2',
      NOTIFY_STATEMENT_TIMEOUT: '300ms',
      NOTIFY_IDLE_IN_TRANSACTION_TIMEOUT: '500ms',
    });
    const opened: pg.Client[] = [];
    const open = async () => {
      const c = new pg.Client({ connectionString: small.url('fraud') });
      opened.push(c);
      await c.connect();
      return c;
    };
    try {
      const first = await open();
      await expect(first.query('SELECT pg_sleep(10)')).rejects.toThrow(/statement timeout/);
      // A migration lifts the limit for its own session (service-kit's migrate).
      await migrate({ url: small.url('fraud'), schema: 'fraud', dir: repoPath('services/fraud/migrations') });

      const idle = await open();
      let ended: Error | undefined;
      idle.on('error', (err) => (ended = err));
      await idle.query('BEGIN');
      await waitFor(() => ended, { timeoutMs: 30_000, what: 'the idle transaction ended by the server' });
      // The server's FATAL names the timeout; on Node 24 the client may see the socket close
      // before it has read that message, and reports the connection as terminated.
      expect(ended?.message).toMatch(/idle-in-transaction timeout|Connection terminated unexpectedly/);

      // Two sessions allowed (first and the one opened next); the third is refused.
      await open();
      await expect(open()).rejects.toThrow(/too many connections for role/);
    } finally {
      for (const c of opened) await c.end().catch(() => undefined);
      await small.drop();
    }
  });
});
