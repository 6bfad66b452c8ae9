import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_DATABASE_URL, removeStaleDatabases } from './index.js';

const prefix = `stale${randomBytes(2).toString('hex')}`;
const name = (ageMs: number) =>
  `${prefix}_${(Date.now() - ageMs).toString(36)}_${randomBytes(3).toString('hex')}`;
const old = name(7 * 3_600_000);
const young = name(60_000);
let admin: pg.Client;

beforeAll(async () => {
  admin = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  await admin.connect();
});
afterAll(async () => {
  for (const d of [old, young]) await admin.query(`DROP DATABASE IF EXISTS "${d}"`);
  await admin.query(`DROP ROLE IF EXISTS "${old}_email"`);
  await admin.end();
});

describe('removeStaleDatabases', () => {
  it('drops a killed run’s old database and its roles, and leaves a young one alone', async () => {
    for (const d of [old, young]) await admin.query(`CREATE DATABASE "${d}"`);
    await admin.query(`CREATE ROLE "${old}_email"`);

    expect(await removeStaleDatabases(prefix)).toEqual([old]);
    const dbs = await admin.query<{ datname: string }>(
      'SELECT datname FROM pg_database WHERE datname = ANY($1)',
      [[old, young]],
    );
    expect(dbs.rows.map((r) => r.datname)).toEqual([young]);
    expect((await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [`${old}_email`])).rowCount).toBe(
      0,
    );
  });

  it('refuses a prefix that is not a plain identifier part', async () => {
    expect(await removeStaleDatabases('x.*')).toEqual([]);
  });
});
