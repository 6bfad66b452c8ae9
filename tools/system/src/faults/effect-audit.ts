import { CHANNELS } from '@notify/contracts';
import type { Channel } from '@notify/contracts';

// What "exactly once in effect" means, order by order, judged from what the outside
// world recorded: the SMTP stand-in's mailbox, the Twilio stand-in's messages, and the
// shipment, payment and fraud rows in the services' own schemas. This file is pure: the
// snapshot is collected elsewhere (effect-snapshot.ts), so the rules are unit-tested.

/** One copy of a provider send as the stand-in recorded it. */
export interface ProviderCopy {
  /** When the stand-in accepted it (ms since epoch). */
  readonly at: number;
  /** Message-ID header (email) or message SID (WhatsApp). */
  readonly key: string;
}

export interface RowEffect {
  readonly count: number;
  /** When the effect was recorded (ms since epoch). */
  readonly at: number;
  readonly ok: boolean;
}

export interface EffectSnapshot {
  /** Order ids present in the order API's table. */
  readonly stored: ReadonlySet<string>;
  /** Mail the SMTP stand-in accepted, by lower-case recipient. */
  readonly mails: ReadonlyMap<string, readonly ProviderCopy[]>;
  /** Messages the Twilio stand-in accepted, by E.164 number. */
  readonly whatsapps: ReadonlyMap<string, readonly ProviderCopy[]>;
  /** The email service's record: sent, and under which Message-ID. */
  readonly emailRecords: ReadonlyMap<string, { readonly sent: boolean; readonly smtpMessageId: string }>;
  /** The WhatsApp service's record: the SID it stored for the order. */
  readonly whatsappRecords: ReadonlyMap<string, { readonly sid: string }>;
  readonly shipments: ReadonlyMap<string, RowEffect>;
  /** `count` = distinct authorisation ids the processor handed out for the order. */
  readonly payments: ReadonlyMap<string, RowEffect>;
  readonly assessments: ReadonlyMap<string, RowEffect>;
  /** Channel states from GET /orders/:id, when the API reports outcomes. */
  readonly apiStates?: ReadonlyMap<string, Readonly<Record<string, string>>>;
  /** States that mean a channel succeeded, when the API reports outcomes. */
  readonly apiSuccessStates?: readonly string[];
}

export interface AcceptedOrder {
  readonly orderId: string;
  readonly email: string;
  readonly phone: string;
  readonly acceptedAt: number;
}

/**
 * A stretch of time in which a provider may have accepted a send whose record was then
 * lost: the sender was SIGKILLed, or its database went away, between the provider's
 * answer and the commit. SMTP and Twilio's Messages API take no idempotency key, so a
 * second copy sent after such a loss is the documented window (docs/reliability.md).
 */
export interface CrashWindow {
  readonly effect: 'email' | 'whatsapp';
  readonly from: number;
  readonly to: number;
  readonly cause: string;
}

export interface OrderVerdict {
  readonly orderId: string;
  readonly complete: boolean;
  /** Effects (or checks) that did not happen. */
  readonly missing: string[];
  /** Effects that happened more than once, outside any documented window. */
  readonly duplicates: string[];
  /** Second copies inside a crash window. */
  readonly windowDuplicates: string[];
  /** When the last of the five effects happened. */
  readonly completedAt: number | undefined;
}

function inWindow(copy: ProviderCopy, windows: readonly CrashWindow[], effect: CrashWindow['effect']) {
  return windows.some((w) => w.effect === effect && copy.at >= w.from && copy.at <= w.to);
}

export function judgeOrder(
  order: AcceptedOrder,
  s: EffectSnapshot,
  windows: readonly CrashWindow[],
): OrderVerdict {
  const missing: string[] = [];
  const duplicates: string[] = [];
  const windowDuplicates: string[] = [];
  const times: number[] = [];
  const id = order.orderId;

  if (!s.stored.has(id)) missing.push('order row (answered 201 but not stored)');

  const mails = [...(s.mails.get(order.email.toLowerCase()) ?? [])].sort((a, b) => a.at - b.at);
  const emailRecord = s.emailRecords.get(id);
  if (mails.length === 0) missing.push('email');
  else times.push(mails[0]!.at);
  if (!emailRecord?.sent) missing.push('email record');
  if (mails.length > 1) {
    // The service sends every attempt with the Message-ID derived from the order.
    const sameMessage = mails.every((m) => m.key === mails[0]!.key);
    const earlierInWindow = mails.slice(0, -1).every((m) => inWindow(m, windows, 'email'));
    (sameMessage && earlierInWindow ? windowDuplicates : duplicates).push(`email x${mails.length}`);
  }

  const texts = [...(s.whatsapps.get(order.phone) ?? [])].sort((a, b) => a.at - b.at);
  const waRecord = s.whatsappRecords.get(id);
  if (texts.length === 0) missing.push('whatsapp');
  else times.push(texts[0]!.at);
  if (!waRecord) missing.push('whatsapp record');
  if (texts.length > 1) {
    // The copy the service recorded is the one that counts; every other copy must have
    // been accepted inside a window in which its record was lost.
    const recorded = texts.find((t) => t.key === waRecord?.sid);
    const others = texts.filter((t) => t !== recorded);
    const explained = recorded !== undefined && others.every((t) => inWindow(t, windows, 'whatsapp'));
    (explained ? windowDuplicates : duplicates).push(`whatsapp x${texts.length}`);
  }

  const rows: [Channel, RowEffect | undefined][] = [
    ['logistic', s.shipments.get(id)],
    ['payment', s.payments.get(id)],
    ['fraud', s.assessments.get(id)],
  ];
  for (const [effect, row] of rows) {
    if (!row || row.count === 0) {
      missing.push(effect);
      continue;
    }
    if (!row.ok) missing.push(`${effect} (unexpected outcome)`);
    if (row.count > 1) duplicates.push(`${effect} x${row.count}`);
    times.push(row.at);
  }

  if (s.apiStates && s.apiSuccessStates) {
    const states = s.apiStates.get(id);
    for (const c of CHANNELS) {
      const state = states?.[c];
      if (!state || !s.apiSuccessStates.includes(state)) missing.push(`API ${c} state ${state ?? 'absent'}`);
    }
  }

  const complete = missing.length === 0;
  return {
    orderId: id,
    complete,
    missing,
    duplicates,
    windowDuplicates,
    completedAt: complete && times.length ? Math.max(...times) : undefined,
  };
}

export interface AuditSummary {
  readonly accepted: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly windowDuplicated: number;
  /** From the end of the fault until every order accepted before it was complete. */
  readonly recoveryMs: number | undefined;
  readonly verdicts: OrderVerdict[];
}

export function summarise(
  orders: readonly AcceptedOrder[],
  s: EffectSnapshot,
  windows: readonly CrashWindow[],
  faultEnd: number | undefined,
): AuditSummary {
  const verdicts = orders.map((o) => judgeOrder(o, s, windows));
  let recoveryMs: number | undefined;
  if (faultEnd !== undefined) {
    const before = verdicts.filter((_, i) => orders[i]!.acceptedAt <= faultEnd);
    if (before.every((v) => v.complete)) {
      const last = Math.max(faultEnd, ...before.map((v) => v.completedAt ?? faultEnd));
      recoveryMs = last - faultEnd;
    }
  }
  return {
    accepted: orders.length,
    lost: verdicts.filter((v) => !v.complete).length,
    duplicated: verdicts.filter((v) => v.duplicates.length > 0).length,
    windowDuplicated: verdicts.filter((v) => v.windowDuplicates.length > 0).length,
    recoveryMs,
    verdicts,
  };
}

/**
 * The order API's own view, built from the outcome events it consumes: every `201` order
 * shows each of its five channels in its final state, `succeeded` (an order the API does not report at all counts too).
 */
export function channelStatesCheck(summary: AuditSummary): {
  name: string;
  ok: boolean;
  detail: string;
} {
  const behind = summary.verdicts.filter((v) => v.missing.some((m) => m.startsWith('API ')));
  const first = behind[0];
  return {
    name: 'each of the five channels reached its final state (GET /orders/:id: succeeded)',
    ok: behind.length === 0,
    detail:
      behind.length === 0
        ? `${summary.accepted} of ${summary.accepted} orders`
        : `${behind.length} of ${summary.accepted} orders not there, e.g. ${first!.orderId}: ${first!.missing
            .filter((m) => m.startsWith('API '))
            .join(', ')}`,
  };
}
