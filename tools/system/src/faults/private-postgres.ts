import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { mustRun, systemUser } from './run-command.js';
import type { SystemUser } from './run-command.js';

// A PostgreSQL instance of the suite's own, in a temporary folder, on its own port and
// socket folder, run as the `postgres` account with trust authentication on 127.0.0.1.
// The suite restarts it under load; the shared instance on 5432 is never touched.

function binDir(): string {
  if (process.env.FAULTS_POSTGRES_BIN) return process.env.FAULTS_POSTGRES_BIN;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'pg_ctl')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (!versions[0]) {
    throw new Error(
      'no PostgreSQL server binaries found under /usr/lib/postgresql; set FAULTS_POSTGRES_BIN to the folder holding initdb and pg_ctl',
    );
  }
  return join(root, versions[0], 'bin');
}

export class PrivatePostgres {
  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly user: SystemUser,
    private readonly bin: string,
  ) {}

  /** Creates a fresh cluster in `dir` (initdb) and starts it on `port`. */
  static async start(options: { dir: string; port: number }): Promise<PrivatePostgres> {
    const user = systemUser('postgres');
    if (!user) throw new Error('there is no "postgres" account: is PostgreSQL installed on this machine?');
    const bin = binDir();
    await mkdir(options.dir, { recursive: true, mode: 0o700 });
    await chown(options.dir, user.uid, user.gid);
    const data = join(options.dir, 'data');
    await mustRun(
      join(bin, 'initdb'),
      ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync'],
      { user, cwd: options.dir },
    );
    const db = new PrivatePostgres(options.port, options.dir, user, bin);
    await db.startServer();
    return db;
  }

  private get data(): string {
    return join(this.dir, 'data');
  }

  private ctl(args: readonly string[], timeoutMs = 120_000) {
    return mustRun(join(this.bin, 'pg_ctl'), ['-D', this.data, ...args], {
      user: this.user,
      cwd: this.dir,
      timeoutMs,
    });
  }

  private async startServer(): Promise<void> {
    const options = [
      `-p ${this.port}`,
      `-k ${this.dir}`,
      '-c listen_addresses=127.0.0.1',
      // Six services with their pools, the suite's own checks, and headroom for reconnect storms.
      '-c max_connections=300',
      // Durability is what the suite checks: keep the defaults that make commits durable.
      '-c fsync=on',
      '-c synchronous_commit=on',
    ].join(' ');
    await this.ctl(['-w', '-t', '120', '-l', join(this.dir, 'postgres.log'), '-o', options, 'start']);
  }

  /** Stops at once, like a crash (no checkpoint; recovery replays the WAL on start). */
  async crash(): Promise<void> {
    await this.ctl(['-w', '-m', 'immediate', 'stop']);
  }

  async startAgain(): Promise<void> {
    await this.startServer();
  }

  async stop(): Promise<void> {
    await this.ctl(['-w', '-m', 'fast', 'stop']).catch(async () => {
      await this.ctl(['-w', '-m', 'immediate', 'stop']).catch(() => undefined);
    });
  }

  url(database = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  async createDatabase(name: string): Promise<string> {
    if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`unusual database name ${name}`);
    const c = new pg.Client({ connectionString: this.url() });
    await c.connect();
    try {
      await c.query(`CREATE DATABASE "${name}"`);
    } finally {
      await c.end();
    }
    return this.url(name);
  }
}
