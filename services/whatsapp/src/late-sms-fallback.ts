import type { Logger } from 'pino';
import type { PreferenceLookup, Subscriber, TraceMeta } from '@notify/service-kit';
import type {
  AcceptedMessage,
  MessageEvents,
  PhoneOptOuts,
  SentRecord,
  StatusRecord,
  WhatsappSender,
} from './send-order-whatsapp.js';
import { SMS_FALLBACK_CODES, UNSUBSCRIBED_CODE, WhatsappDeliveryError } from './twilio-failure.js';
import type { WhatsappStatus } from './whatsapp-status.js';

/** Why nothing went: the reasons `whatsapp.skipped` carries. */
export const SKIP_REASONS = {
  customer: 'the customer opted out of WhatsApp messages',
  stop: 'the number asked this sender to stop (STOP)',
  unsubscribed: 'the number unsubscribed from this sender (Twilio 21610)',
} as const;

/** A status callback as recorded, with what the decision needs to know about its message. */
export interface ReportedFailure {
  readonly status: WhatsappStatus;
  readonly errorCode: number | undefined;
  /** The channel the reported message went on. */
  readonly sentOn: 'whatsapp' | 'sms';
}

/**
 * Whether a status callback calls for the SMS fallback: a WhatsApp message Twilio accepted
 * and now reports `failed` or `undelivered` with an error SMS can get round (the codes the
 * create call's fallback uses). An SMS's own failure
 * never falls back further.
 */
export function callsForSmsFallback(report: ReportedFailure): boolean {
  return (
    report.sentOn === 'whatsapp' &&
    (report.status === 'failed' || report.status === 'undelivered') &&
    report.errorCode !== undefined &&
    SMS_FALLBACK_CODES.has(report.errorCode)
  );
}

/** What the stored WhatsApp message kept for its SMS fallback. */
export interface PendingFallback {
  readonly to: string;
  readonly body: string;
  readonly subscriber: Subscriber | undefined;
}

export type FallbackAttempt =
  | { readonly kind: 'sent'; readonly accepted: AcceptedMessage }
  | { readonly kind: 'skipped'; readonly reason: string };

export type LateFallbackResult =
  /** Nothing to fall back with (no SMS text kept, or the message is no longer the WhatsApp one). */
  | { readonly outcome: 'none' }
  /** The SMS was accepted now (`sent`) or before (`duplicate`); the record is the order's SMS. */
  | {
      readonly outcome: 'sent' | 'duplicate';
      readonly record: SentRecord;
      readonly earlyStatuses: readonly StatusRecord[];
    }
  /** The customer or the number opted out: no SMS, now or on any repeat. */
  | { readonly outcome: 'skipped'; readonly reason: string };

export interface LateFallbackRepository {
  /**
   * Under a claim on the order (as a send takes one): if the order's message is still the
   * WhatsApp message `failedSid` with its SMS text kept, calls `attempt` and records what
   * it did (the SMS replaces the message; a skip is remembered). A fallback done or skipped
   * before is returned as it was, without calling `attempt`; one in flight elsewhere throws.
   */
  fallBackOnce(
    orderId: string,
    failedSid: string,
    attempt: (pending: PendingFallback) => Promise<FallbackAttempt>,
  ): Promise<LateFallbackResult>;
}

export interface LateFallbackDeps {
  readonly sender: Pick<WhatsappSender, 'sendSms'>;
  readonly repository: LateFallbackRepository;
  readonly events: MessageEvents;
  readonly preferences: PreferenceLookup;
  readonly optOuts: PhoneOptOuts;
  readonly statusCallbackUrl: () => string | undefined;
}

/**
 * The SMS fallback for a WhatsApp message Twilio reported failed by callback: at most one
 * SMS per order, however often the callback comes. Reported like the create-time
 * fallback: `whatsapp.sent` with `via: "sms"` and `fallbackReason` (its own event id, as
 * the order's first `whatsapp.sent` was the WhatsApp message), or `whatsapp.skipped` when
 * the customer or the number opted out meanwhile. Returns false when no fallback took
 * place (no SMS text kept, or Twilio refused the SMS for good): the caller then reports
 * the WhatsApp failure as it is. Throws when Twilio could not be reached or the database
 * failed, so the callback is answered 503 and tried again.
 */
export async function fallBackToSms(
  failed: StatusRecord,
  deps: LateFallbackDeps,
  log: Logger,
  trace: TraceMeta = { traceparent: failed.traceparent },
): Promise<boolean> {
  const reason = `WhatsApp error ${failed.errorCode ?? 'none'} reported by status callback (${failed.status})`;
  let result: LateFallbackResult;
  try {
    result = await deps.repository.fallBackOnce(failed.orderId, failed.messageSid, (pending) =>
      attemptSms(pending, deps, reason),
    );
  } catch (err) {
    if (err instanceof WhatsappDeliveryError && !err.retryable) {
      log.warn({ httpStatus: err.httpStatus, twilioCode: err.errorCode }, 'Twilio refused the fallback SMS');
      return false;
    }
    throw err;
  }
  switch (result.outcome) {
    case 'none':
      return false;
    case 'skipped':
      log.info({ reason: result.reason }, 'WhatsApp failed; no SMS: opted out');
      await deps.events.skipped({ orderId: failed.orderId, reason: result.reason }, trace);
      return true;
    case 'sent':
    case 'duplicate':
      log.info(
        { smsSid: result.record.messageSid, outcome: result.outcome },
        result.outcome === 'sent' ? 'WhatsApp failed; sent as SMS' : 'WhatsApp failed; SMS sent before',
      );
      await deps.events.sent(result.record, trace);
      for (const status of result.earlyStatuses) await deps.events.status(status, trace);
      return true;
  }
}

/**
 * Publishes a recorded status of the order's message, or, for a WhatsApp failure SMS can
 * get round, the SMS fallback instead (see fallBackToSms). Used for callbacks and for
 * statuses parked before the send committed alike.
 */
export async function publishStatus(
  status: StatusRecord,
  sentOn: 'whatsapp' | 'sms',
  ports: {
    events: MessageEvents;
    lateFallback?: LateFallbackDeps | undefined;
    trace: TraceMeta;
    log: Logger;
  },
): Promise<void> {
  const fallback = ports.lateFallback;
  // The SMS that replaces the failed WhatsApp message is reported instead of the failure,
  // so the order's channel follows the SMS (a repeat re-publishes it and sends nothing).
  if (
    fallback &&
    callsForSmsFallback({ ...status, sentOn }) &&
    (await fallBackToSms(status, fallback, ports.log, ports.trace))
  ) {
    return;
  }
  await ports.events.status(status, ports.trace);
}

/** Asks the opt-outs again (they may have changed since the WhatsApp message) and sends the SMS. */
async function attemptSms(
  pending: PendingFallback,
  deps: LateFallbackDeps,
  reason: string,
): Promise<FallbackAttempt> {
  if (pending.subscriber && (await deps.preferences.optedOut(pending.subscriber))) {
    return { kind: 'skipped', reason: SKIP_REASONS.customer };
  }
  if (await deps.optOuts.isOptedOut(pending.to)) {
    return { kind: 'skipped', reason: SKIP_REASONS.stop };
  }
  try {
    const sms = await deps.sender.sendSms({
      to: pending.to,
      body: pending.body,
      statusCallback: deps.statusCallbackUrl(),
    });
    return { kind: 'sent', accepted: { ...sms, via: 'sms', fallbackReason: reason } };
  } catch (err) {
    if (err instanceof WhatsappDeliveryError && err.errorCode === UNSUBSCRIBED_CODE) {
      await deps.optOuts.optOut(pending.to, 'twilio-21610');
      return { kind: 'skipped', reason: SKIP_REASONS.unsubscribed };
    }
    throw err;
  }
}
