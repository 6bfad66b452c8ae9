import type { Logger } from 'pino';
import { callsForSmsFallback, fallBackToSms } from './late-sms-fallback.js';
import type { LateFallbackDeps } from './late-sms-fallback.js';
import type { MessageEvents, StatusRecord } from './send-order-whatsapp.js';
import { isWhatsappStatus } from './whatsapp-status.js';
import type { WhatsappStatus } from './whatsapp-status.js';

export interface ReportedStatus {
  readonly messageSid: string;
  readonly status: WhatsappStatus;
  readonly errorCode: number | undefined;
  /** UTC ISO 8601; Twilio's status callbacks carry no time of their own. */
  readonly receivedAt: string;
}

export type RecordStatusResult =
  | { readonly outcome: 'unmatched' }
  | {
      readonly outcome: 'recorded' | 'duplicate';
      readonly record: StatusRecord;
      readonly current: WhatsappStatus;
      /** The channel the reported message went on. */
      readonly sentOn: 'whatsapp' | 'sms';
    };

export interface StatusRepository {
  /**
   * Records a reported status of a message. `recorded` when first seen, `duplicate` with the
   * record as first stored when seen before, `unmatched` when no order has that message
   * (yet: it is parked and merged when the send that created it commits).
   */
  recordStatus(report: ReportedStatus): Promise<RecordStatusResult>;
}

export type CallbackOutcome = RecordStatusResult['outcome'] | 'ignored';

export class MalformedCallbackError extends Error {
  override name = 'MalformedCallbackError';
}

const SID = /^(SM|MM)[0-9a-fA-F]{32}$/;

/**
 * Handles one (already authenticated) status callback: stores the status, never moving the
 * message's status backwards, and publishes `whatsapp.status` for it. A repeated callback
 * re-publishes the status as first recorded (same event id), so a crash between storing
 * and publishing heals on Twilio's next try. A WhatsApp message reported failed with an
 * error SMS can get round goes as SMS instead (late-sms-fallback.ts). Statuses outside the WhatsApp lifecycle
 * (`sending`, `accepted`, ...) are acknowledged and ignored.
 */
export async function recordStatusCallback(
  params: Readonly<Record<string, string>>,
  ports: {
    repository: StatusRepository;
    events: MessageEvents;
    logger: Logger;
    now?: () => Date;
    /** The SMS fallback for a WhatsApp message reported failed; undefined without an SMS sender. */
    lateFallback?: LateFallbackDeps | undefined;
  },
): Promise<CallbackOutcome> {
  const messageSid = params.MessageSid ?? params.SmsSid;
  const reported = params.MessageStatus ?? params.SmsStatus;
  if (!messageSid || !SID.test(messageSid))
    throw new MalformedCallbackError('MessageSid is missing or malformed');
  if (!reported) throw new MalformedCallbackError('MessageStatus is missing');
  const log = ports.logger.child({ messageSid, status: reported });
  if (!isWhatsappStatus(reported)) {
    log.debug('status outside the WhatsApp lifecycle; ignored');
    return 'ignored';
  }
  const rawCode = params.ErrorCode;
  const errorCode = rawCode && /^\d{1,9}$/.test(rawCode) ? Number(rawCode) : undefined;

  const result = await ports.repository.recordStatus({
    messageSid,
    status: reported,
    errorCode,
    receivedAt: (ports.now?.() ?? new Date()).toISOString(),
  });
  if (result.outcome === 'unmatched') {
    log.info('status for a message not recorded yet; parked until its send commits');
    return result.outcome;
  }
  const orderLog = log.child({ orderId: result.record.orderId });
  orderLog.info({ current: result.current, outcome: result.outcome }, 'WhatsApp status recorded');
  const fallback = ports.lateFallback;
  const report = { ...result.record, sentOn: result.sentOn };
  // The SMS that replaces the failed WhatsApp message is reported instead of the failure,
  // so the order's channel follows the SMS (a repeat re-publishes it and sends nothing).
  if (fallback && callsForSmsFallback(report) && (await fallBackToSms(result.record, fallback, orderLog))) {
    return result.outcome;
  }
  // Twilio's callback carries no trace context: the status continues the trace its message
  // was sent in (the publish span links this request's own trace).
  await ports.events.status(result.record, { traceparent: result.record.traceparent });
  return result.outcome;
}
