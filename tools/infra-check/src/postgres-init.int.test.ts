import { migrate } from '@notify/service-kit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
