import pg from 'pg';
import { acceptsConnections } from './tcp-ports.js';

/** A dependency the system cannot run without, with how to bring it up. */
export class PreflightError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PreflightError';
  }
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

const reachable = (host: string, port: number) => acceptsConnections(host, port, 3_000);

export async function checkBroker(amqpUrl: string): Promise<void> {
  const u = new URL(amqpUrl);
  const port = Number(u.port || (u.protocol === 'amqps:' ? 5671 : 5672));
  if (!(await reachable(u.hostname, port))) {
    throw new PreflightError(
      `RabbitMQ is not reachable at ${redact(amqpUrl)}: start it (e.g. 'rabbitmq-server -detached', or 'docker run -d -p 5672:5672 -p 15672:15672 rabbitmq:4.1-management') or set AMQP_URL`,
    );
  }
}

/**
 * Checks PostgreSQL and creates the system's database if it does not exist yet, so a
 * fresh machine needs no manual step.
 */
export async function checkDatabase(databaseUrl: string): Promise<void> {
  const u = new URL(databaseUrl);
  const port = Number(u.port || 5432);
  if (!(await reachable(u.hostname, port))) {
    throw new PreflightError(
      `PostgreSQL is not reachable at ${redact(databaseUrl)}: start it (e.g. 'pg_ctlcluster 15 main start', or 'docker run -d -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:15') or set DATABASE_URL`,
    );
  }
  const name = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (!/^[A-Za-z0-9_]+$/.test(name))
    throw new PreflightError(`DATABASE_URL names an unusual database "${name}"`);
  const admin = new URL(databaseUrl);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString(), connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
  } catch (err) {
    throw new PreflightError(
      `PostgreSQL at ${redact(databaseUrl)} refused the connection: ${(err as Error).message}`,
    );
  }
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE "${name}"`);
  } catch (err) {
    throw new PreflightError(
      `cannot create database "${name}" at ${redact(databaseUrl)}: ${(err as Error).message}`,
    );
  } finally {
    await client.end();
  }
}
