import type { MailCatcher } from '@notify/mail-catcher';
import type { WhatsappSandbox } from '@notify/whatsapp-sandbox';
import type pg from 'pg';
import { schemaOf } from '../services.js';
import type { AcceptedOrder, EffectSnapshot, ProviderCopy, RowEffect } from './effect-audit.js';

// Reads what happened for a set of orders: the stand-ins' records, each service's own
// tables (names from their migrations) and, when the API reports outcomes, its view.

/**
 * What the SMTP and Twilio stand-ins accepted, kept compactly (recipient, Message-ID or
 * SID, time) for the whole run. The stand-ins themselves are emptied after every
 * scenario: holding tens of thousands of full messages in the suite's process, which
 * also serves SMTP and the Twilio API, would slow their answers down until the services
 * time out, and every timeout after DATA is a resend the suite would then count.
 */
export class ProviderLedger {
  private readonly mails = new Map<string, ProviderCopy[]>();
  private readonly texts = new Map<string, ProviderCopy[]>();

  constructor(
    readonly mail: MailCatcher,
    readonly sandbox: WhatsappSandbox,
  ) {}

  private static add(into: Map<string, ProviderCopy[]>, key: string, copy: ProviderCopy) {
    const list = into.get(key) ?? [];
    list.push(copy);
    into.set(key, list);
  }

  /** Moves what the stand-ins hold into the ledger and empties them. */
  archive(): void {
    for (const m of this.mail.messages()) {
      for (const to of m.envelope.to) {
        ProviderLedger.add(this.mails, to.toLowerCase(), {
          at: Date.parse(m.receivedAt),
          key: m.messageId ?? m.id,
        });
      }
    }
    for (const m of this.sandbox.messages()) {
      ProviderLedger.add(this.texts, m.to.replace(/^whatsapp:/, ''), {
        at: Date.parse(m.dateCreated),
        key: m.sid,
      });
    }
    this.mail.clear();
    this.sandbox.clear();
  }

  /** Copies per lower-case recipient and per E.164 number: archived plus still held. */
  copies(emails: ReadonlySet<string>, phones: ReadonlySet<string>) {
    const mails = new Map<string, ProviderCopy[]>();
    const texts = new Map<string, ProviderCopy[]>();
    for (const e of emails) if (this.mails.has(e)) mails.set(e, [...this.mails.get(e)!]);
    for (const p of phones) if (this.texts.has(p)) texts.set(p, [...this.texts.get(p)!]);
    for (const m of this.mail.messages()) {
      for (const to of m.envelope.to.map((t) => t.toLowerCase()).filter((t) => emails.has(t))) {
        ProviderLedger.add(mails, to, { at: Date.parse(m.receivedAt), key: m.messageId ?? m.id });
      }
    }
    for (const m of this.sandbox.messages()) {
      const phone = m.to.replace(/^whatsapp:/, '');
      if (phones.has(phone)) ProviderLedger.add(texts, phone, { at: Date.parse(m.dateCreated), key: m.sid });
    }
    return { mails, texts };
  }
}

async function rows<R extends pg.QueryResultRow>(pool: pg.Pool, sql: string, ids: string[]): Promise<R[]> {
  try {
    return (await pool.query<R>(sql, [ids])).rows;
  } catch (err) {
    // A schema that does not exist yet (the service never started) means no effects.
    if ((err as { code?: string }).code === '42P01' || (err as { code?: string }).code === '3F000') return [];
    throw err;
  }
}

interface EffectRow {
  order_id: string;
  n: string;
  at: Date;
  ok: boolean;
}

/** Rows of a table whose every row is one effect: how many per order, and the last one's time. */
function countedRows(pool: pg.Pool, table: string, timeColumn: string, ids: string[]): Promise<EffectRow[]> {
  return rows<EffectRow>(
    pool,
    `SELECT order_id::text, count(*) AS n, max(${timeColumn}) AS at, true AS ok
     FROM ${table} WHERE order_id = ANY($1::uuid[]) GROUP BY order_id`,
    ids,
  );
}

function rowEffects(list: EffectRow[]) {
  return new Map<string, RowEffect>(
    list.map((r) => [r.order_id, { count: Number(r.n), at: r.at.getTime(), ok: r.ok }]),
  );
}

export interface SnapshotSources {
  readonly pool: pg.Pool;
  readonly providers: ProviderLedger;
  /** Base URL of the order API and the states that mean success, when it reports outcomes. */
  readonly api?: { readonly url: string; readonly successStates: readonly string[] };
}

export async function collectSnapshot(
  sources: SnapshotSources,
  orders: readonly AcceptedOrder[],
): Promise<EffectSnapshot> {
  const ids = orders.map((o) => o.orderId);
  const { pool } = sources;
  const { mails, texts: whatsapps } = sources.providers.copies(
    new Set(orders.map((o) => o.email.toLowerCase())),
    new Set(orders.map((o) => o.phone)),
  );

  const [stored, email, wa, ship, pay, fraud] = await Promise.all([
    rows<{ id: string }>(
      pool,
      `SELECT id::text FROM ${schemaOf('order-api')}.orders WHERE id = ANY($1::uuid[])`,
      ids,
    ),
    rows<{ order_id: string; status: string; smtp_message_id: string }>(
      pool,
      `SELECT order_id::text, status, smtp_message_id FROM ${schemaOf('email')}.order_confirmations WHERE order_id = ANY($1::uuid[])`,
      ids,
    ),
    rows<{ order_id: string; message_sid: string }>(
      pool,
      `SELECT order_id::text, message_sid FROM ${schemaOf('whatsapp')}.messages WHERE order_id = ANY($1::uuid[])`,
      ids,
    ),
    countedRows(pool, `${schemaOf('logistic')}.shipments`, 'created_at', ids),
    // Authorisations the processor handed out, counted by distinct id over every attempt:
    // a redelivery must get the stored result back, never a second authorisation.
    rows<EffectRow>(
      pool,
      `SELECT p.order_id::text, greatest(1, count(DISTINCT a.authorization_id)) AS n,
              p.decided_at AS at, p.status = 'authorized' AS ok
       FROM ${schemaOf('payment')}.payments p
       LEFT JOIN ${schemaOf('payment')}.attempts a ON a.order_id = p.order_id AND a.authorization_id IS NOT NULL
       WHERE p.order_id = ANY($1::uuid[])
       GROUP BY p.order_id, p.decided_at, p.status`,
      ids,
    ),
    countedRows(pool, `${schemaOf('fraud')}.assessments`, 'assessed_at', ids),
  ]);

  let apiStates: Map<string, Record<string, string>> | undefined;
  if (sources.api) apiStates = await readApiStates(sources.api.url, ids);

  return {
    stored: new Set(stored.map((r) => r.id)),
    mails,
    whatsapps,
    emailRecords: new Map(
      email.map((r) => [r.order_id, { sent: r.status === 'sent', smtpMessageId: r.smtp_message_id }]),
    ),
    whatsappRecords: new Map(wa.map((r) => [r.order_id, { sid: r.message_sid }])),
    shipments: rowEffects(ship),
    payments: rowEffects(pay),
    assessments: rowEffects(fraud),
    ...(apiStates && sources.api ? { apiStates, apiSuccessStates: sources.api.successStates } : {}),
  };
}

async function readApiStates(url: string, ids: readonly string[]) {
  const out = new Map<string, Record<string, string>>();
  let next = 0;
  const worker = async () => {
    while (next < ids.length) {
      const id = ids[next++]!;
      try {
        const r = await fetch(`${url}/orders/${id}`, { signal: AbortSignal.timeout(10_000) });
        if (!r.ok) continue;
        const view = (await r.json()) as { channels?: Record<string, { state?: string }> };
        out.set(
          id,
          Object.fromEntries(Object.entries(view.channels ?? {}).map(([c, v]) => [c, v.state ?? ''])),
        );
      } catch {
        // Unanswered: the order counts as not reported.
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return out;
}

/**
 * The channel states that mean "succeeded" in this API's OpenAPI document, or undefined
 * while the API only reports publication (an order API that does not consume outcome
 * events yet): the suite then judges by the providers' and services' records alone.
 */
export async function apiSuccessStates(url: string): Promise<string[] | undefined> {
  try {
    const r = await fetch(`${url}/openapi.json`, { signal: AbortSignal.timeout(10_000) });
    if (!r.ok) return undefined;
    const doc: unknown = await r.json();
    const enums: string[][] = [];
    const walk = (v: unknown) => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object') {
        const o = v as Record<string, unknown>;
        if (Array.isArray(o.enum) && o.enum.includes('published')) enums.push(o.enum as string[]);
        Object.values(o).forEach(walk);
      }
    };
    walk(doc);
    const states = enums.find((e) => e.includes('succeeded'));
    return states ? ['succeeded'] : undefined;
  } catch {
    return undefined;
  }
}

export async function outboxBacklog(pool: pg.Pool): Promise<number> {
  try {
    const r = await pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM ${schemaOf('order-api')}.outbox WHERE published_at IS NULL`,
    );
    return Number(r.rows[0]?.n ?? 0);
  } catch {
    return -1;
  }
}
