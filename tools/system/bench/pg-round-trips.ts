// What a window of outcome writes costs PostgreSQL and the client, written three ways on
// one connection, in one run:
// - per message: for each message its own transaction, awaited statement by statement
//   (BEGIN, the idempotency check, the insert, COMMIT): the consumer before window mode;
// - window: one idempotency query for the window, then one transaction with one multi-row
//   insert (what packages/messaging's window mode lets a service do);
// - pipelined: per-message transactions as in the first, with node-postgres's pipeline mode
//   (`pipeline: true`, pg 8.23): every statement of every message sent without waiting for
//   the previous answer, the idempotency folded into INSERT ... ON CONFLICT DO NOTHING.
// Every way commits durably (synchronous_commit as the server has it).
//
//   npx tsx tools/system/bench/pg-round-trips.ts [--messages 20000] [--window 32] [--tiny]
//
// It prints messages/s, this process's CPU per message and the server session's CPU per
// message (/proc/<backend pid>/stat, so PostgreSQL must run on this machine). Its own
// database (removed afterwards). Figures: docs/benchmarks.md, "PostgreSQL round trips".
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { createTestDatabase } from '@notify/service-kit/testing';
import pg from 'pg';
import { wholeNumber } from './bench-args.js';
import { cpuMs } from './proc-stats.js';

const { values: args } = parseArgs({
  options: {
    messages: { type: 'string', default: '20000' },
    window: { type: 'string', default: '32' },
    tiny: { type: 'boolean', default: false },
  },
});
const TINY = args.tiny;
const MESSAGES = TINY ? 64 : wholeNumber('messages', args.messages);
const WINDOW = TINY ? 8 : wholeNumber('window', args.window);

const SCHEMA = `
  CREATE TABLE outcomes (
    message_id uuid PRIMARY KEY,
    order_id uuid NOT NULL,
    outcome text NOT NULL,
    details jsonb NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
  )`;

interface Message {
  readonly messageId: string;
  readonly orderId: string;
}
const details = JSON.stringify({ carrier: 'bench', trackingNumber: 'TRK-0001', attempt: 1 });

type Way = 'per message' | 'window' | 'pipelined';

async function perMessage(client: pg.Client, window: readonly Message[]) {
  for (const m of window) {
    await client.query('BEGIN');
    const seen = await client.query('SELECT 1 FROM outcomes WHERE message_id = $1', [m.messageId]);
    if (seen.rowCount === 0) {
      await client.query(
        'INSERT INTO outcomes (message_id, order_id, outcome, details) VALUES ($1, $2, $3, $4)',
        [m.messageId, m.orderId, 'succeeded', details],
      );
    }
    await client.query('COMMIT');
  }
}

async function asWindow(client: pg.Client, window: readonly Message[]) {
  const ids = window.map((m) => m.messageId);
  const seen = await client.query<{ message_id: string }>(
    'SELECT message_id FROM outcomes WHERE message_id = ANY($1::uuid[])',
    [ids],
  );
  const done = new Set(seen.rows.map((r) => r.message_id));
  const fresh = window.filter((m) => !done.has(m.messageId));
  await client.query('BEGIN');
  await client.query(
    `INSERT INTO outcomes (message_id, order_id, outcome, details)
     SELECT m, o, 'succeeded', $3::jsonb FROM unnest($1::uuid[], $2::uuid[]) AS t(m, o)`,
    [fresh.map((m) => m.messageId), fresh.map((m) => m.orderId), details],
  );
  await client.query('COMMIT');
}

async function pipelined(client: pg.Client, window: readonly Message[]) {
  const sent: Promise<unknown>[] = [];
  for (const m of window) {
    sent.push(client.query('BEGIN'));
    sent.push(
      client.query(
        `INSERT INTO outcomes (message_id, order_id, outcome, details) VALUES ($1, $2, $3, $4)
         ON CONFLICT (message_id) DO NOTHING`,
        [m.messageId, m.orderId, 'succeeded', details],
      ),
    );
    sent.push(client.query('COMMIT'));
  }
  await Promise.all(sent);
}

const WRITE: Record<Way, (c: pg.Client, w: readonly Message[]) => Promise<void>> = {
  'per message': perMessage,
  window: asWindow,
  pipelined,
};

interface Round {
  readonly perSecond: number;
  readonly clientMs: number;
  readonly serverMs: number;
}

async function round(url: string, way: Way, messages: number): Promise<Round> {
  // pg 8.23's pipeline option; @types/pg does not know it yet.
  const config = {
    connectionString: url,
    ...(way === 'pipelined' ? { pipeline: true } : {}),
  } as pg.ClientConfig;
  const client = new pg.Client(config);
  await client.connect();
  try {
    const backend = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const all: Message[] = Array.from({ length: messages }, () => ({
      messageId: randomUUID(),
      orderId: randomUUID(),
    }));
    const client0 = process.cpuUsage();
    const server0 = cpuMs(backend);
    const t0 = performance.now();
    for (let i = 0; i < all.length; i += WINDOW) await WRITE[way](client, all.slice(i, i + WINDOW));
    const seconds = (performance.now() - t0) / 1000;
    const client1 = process.cpuUsage(client0);
    const serverMs = cpuMs(backend) - server0;
    const written = await client.query<{ n: string }>(
      'SELECT count(*) AS n FROM outcomes WHERE message_id = ANY($1::uuid[])',
      [all.map((m) => m.messageId)],
    );
    if (Number(written.rows[0]!.n) !== messages)
      throw new Error(`${way}: wrote ${written.rows[0]!.n} of ${messages}`);
    return {
      perSecond: messages / seconds,
      clientMs: (client1.user + client1.system) / 1000 / messages,
      serverMs: serverMs / messages,
    };
  } finally {
    await client.end();
  }
}

async function main() {
  const database = await createTestDatabase('bench_pg_trips');
  try {
    const setup = new pg.Client({ connectionString: database.url });
    await setup.connect();
    await setup.query(SCHEMA);
    const sync = (await setup.query<{ s: string }>("SELECT current_setting('synchronous_commit') AS s"))
      .rows[0]!.s;
    await setup.end();
    console.log(
      `pg-round-trips${TINY ? ' (tiny: checks that it runs, figures mean nothing)' : ''}: ` +
        `messages=${MESSAGES} window=${WINDOW}, synchronous_commit=${sync}`,
    );
    const ways: Way[] = ['per message', 'window', 'pipelined'];
    for (const way of ways) await round(database.url, way, Math.min(MESSAGES, 500)); // warm-up
    const rounds = new Map<Way, Round[]>(ways.map((w) => [w, []]));
    for (const way of [...ways, ...[...ways].reverse()])
      rounds.get(way)!.push(await round(database.url, way, MESSAGES));
    const mean = (way: Way, k: keyof Round) => rounds.get(way)!.reduce((s, r) => s + r[k], 0) / 2;
    const fmt = (n: number, digits: number) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
    console.log('');
    console.log(
      '| per message | per message, awaited | window | pipelined | window / per message | pipelined / per message |',
    );
    console.log(
      '| ----------- | -------------------: | -----: | --------: | -------------------: | ----------------------: |',
    );
    for (const [label, key, digits] of [
      ['messages/s', 'perSecond', 0],
      ['client CPU, ms', 'clientMs', 3],
      ['PostgreSQL session CPU, ms', 'serverMs', 3],
    ] as const) {
      const base = mean('per message', key);
      const w = mean('window', key);
      const p = mean('pipelined', key);
      console.log(
        `| ${label} | ${fmt(base, digits)} | ${fmt(w, digits)} | ${fmt(p, digits)} | ${fmt(w / base, 2)} | ${fmt(p / base, 2)} |`,
      );
    }
  } finally {
    await database.drop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
