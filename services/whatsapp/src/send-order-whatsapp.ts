import type { WhatsappMessage } from '@notify/contracts';
import { isLastAttempt } from '@notify/service-kit';
import type { DeliveryMeta, PreferenceLookup, Subscriber, TraceMeta } from '@notify/service-kit';
import { composeSmsText, composeWhatsapp } from './compose-message.js';
import type { ContentSettings, WhatsappContent } from './compose-message.js';
import { SMS_FALLBACK_CODES, UNSUBSCRIBED_CODE, WhatsappDeliveryError } from './twilio-failure.js';
import type { WhatsappStatus } from './whatsapp-status.js';

export interface OutboundWhatsapp {
  /** E.164. */
  readonly to: string;
  readonly content: WhatsappContent;
  readonly statusCallback: string | undefined;
}

export interface AcceptedMessage {
  readonly sid: string;
  /** Twilio's status on acceptance, normally `queued`. */
  readonly status: string;
  /** Absent: WhatsApp. */
  readonly via?: 'whatsapp' | 'sms';
  /** Why it went as SMS: the WhatsApp error. */
  readonly fallbackReason?: string;
}

export interface OutboundSms {
  /** E.164. */
  readonly to: string;
  readonly body: string;
  readonly statusCallback: string | undefined;
}

/** Sends one message; throws WhatsappDeliveryError when the provider refused or did not answer. */
export interface WhatsappSender {
  send(message: OutboundWhatsapp): Promise<AcceptedMessage>;
  /** The same Messages API from the SMS sender; throws WhatsappDeliveryError likewise. */
  sendSms(message: OutboundSms): Promise<AcceptedMessage>;
}

export type OptOutSource = 'stop-keyword' | 'twilio-21610';

/** Numbers that asked this sender to stop, for every client's orders. */
export interface PhoneOptOuts {
  isOptedOut(phone: string): Promise<boolean>;
  /** True when the number was not opted out before. */
  optOut(phone: string, source: OptOutSource): Promise<boolean>;
  /** True when the number was opted out before. */
  optIn(phone: string): Promise<boolean>;
}

/** The order's message as stored once Twilio accepted it. */
export interface SentRecord {
  readonly orderId: string;
  readonly messageId: string;
  readonly to: string;
  readonly messageSid: string;
  readonly acceptedStatus: WhatsappStatus;
  /** UTC ISO 8601; the `occurredAt` of every `whatsapp.sent` event for the order. */
  readonly acceptedAt: string;
  readonly via: 'whatsapp' | 'sms';
  readonly fallbackReason?: string;
  /** The WhatsApp message this SMS replaced after Twilio reported it failed (late fallback). */
  readonly replacedSid?: string;
}

/** One status of a message as first recorded; re-publications reuse it unchanged. */
export interface StatusRecord {
  readonly orderId: string;
  readonly messageSid: string;
  readonly status: WhatsappStatus;
  readonly errorCode: number | undefined;
  readonly occurredAt: string;
  /** The trace the message was sent in, which its status events continue. */
  readonly traceparent?: string | undefined;
  /** A status of the SMS that replaced the order's failed WhatsApp message. */
  readonly fallback?: boolean;
}

/** The order's message about to be sent: who claims it, and the trace it is sent in. */
export interface MessageClaim {
  readonly orderId: string;
  readonly messageId: string;
  readonly to: string;
  readonly traceparent?: string | undefined;
  /** What an SMS fallback needs if Twilio reports the WhatsApp message failed later. */
  readonly sms?: { readonly body: string; readonly subscriber?: Subscriber | undefined } | undefined;
}

export type SendOnceResult =
  | { readonly outcome: 'sent'; readonly record: SentRecord; readonly earlyStatuses: readonly StatusRecord[] }
  | { readonly outcome: 'duplicate'; readonly record: SentRecord };

/** The order's message and its statuses, in the service's own schema. */
export interface MessageRepository {
  /**
   * Calls `send` only if the order has no message yet, holding the order's claim while it
   * runs, and records the accepted message in the same transaction. Statuses Twilio
   * reported before that record existed are merged and returned as `earlyStatuses`.
   */
  sendOnce(claim: MessageClaim, send: () => Promise<AcceptedMessage>): Promise<SendOnceResult>;
  findByMessageId(messageId: string): Promise<SentRecord | undefined>;
}

/** Outcome events on `order.events`, with stable message ids so re-publications deduplicate. */
export interface MessageEvents {
  sent(record: SentRecord, trace: TraceMeta): Promise<void>;
  status(record: StatusRecord, trace: TraceMeta): Promise<void>;
  failed(
    failure: { orderId: string; reason: string; errorCode: number | undefined },
    trace: TraceMeta,
  ): Promise<void>;
  /** `whatsapp.skipped`: the customer or the number opted out; the channel is done. */
  skipped(skip: { orderId: string; reason: string }, trace: TraceMeta): Promise<void>;
}

export interface SendOrderWhatsappDeps {
  readonly sender: WhatsappSender;
  readonly repository: MessageRepository;
  readonly events: MessageEvents;
  readonly content: ContentSettings;
  /** Where Twilio should post status callbacks; undefined sends none. */
  readonly statusCallbackUrl: () => string | undefined;
  /** The service's copy of customer preferences. */
  readonly preferences: PreferenceLookup;
  readonly optOuts: PhoneOptOuts;
  /** SMS fallback when WhatsApp cannot reach the number; false when no SMS sender is configured. */
  readonly smsFallback: boolean;
}

/** Why nothing went: the reasons `whatsapp.skipped` carries. */
export const SKIP_REASONS = {
  customer: 'the customer opted out of WhatsApp messages',
  stop: 'the number asked this sender to stop (STOP)',
  unsubscribed: 'the number unsubscribed from this sender (Twilio 21610)',
} as const;

/** Thrown inside the send so that nothing is recorded: the customer does not want the message. */
class SkipSend extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'SkipSend';
  }
}

export type WhatsappOutcome =
  /** Accepted by Twilio now, recorded and announced. */
  | { readonly kind: 'sent'; readonly record: SentRecord }
  /** The order had its message already: announced again, nothing sent. */
  | { readonly kind: 'duplicate'; readonly record: SentRecord }
  /** Twilio throttled or failed with attempts left; nothing was sent. */
  | { readonly kind: 'deferred'; readonly reason: string }
  /**
   * Twilio cannot be reached (no answer at all), or still throttles or fails on the
   * message's last attempt: an outage, not the message's fault. Nothing was sent; the
   * consumer pauses until Twilio answers instead of spending attempts or dead-lettering.
   */
  | { readonly kind: 'unreachable'; readonly reason: string }
  /** The customer or the number opted out: nothing sent, `whatsapp.skipped` published. */
  | { readonly kind: 'skipped'; readonly reason: string }
  /** Twilio refused the message for good; `whatsapp.failed` published. */
  | { readonly kind: 'rejected'; readonly reason: string; readonly detail: string | undefined };

/**
 * Sends the order's WhatsApp message once. A repeated delivery (same message, or a replay
 * of the order's message under another id) sends nothing and re-publishes the stored
 * `whatsapp.sent`, because the first attempt may have stopped after Twilio accepted and
 * before the event was confirmed. A permanent refusal is published as `whatsapp.failed`
 * and returned with Twilio's code, for the dead letter's headers. Throws only for the
 * unexpected (the database away, a broker that does not confirm).
 */
export async function sendOrderWhatsapp(
  message: WhatsappMessage,
  meta: DeliveryMeta,
  deps: SendOrderWhatsappDeps,
): Promise<WhatsappOutcome> {
  const outbound: OutboundWhatsapp = {
    to: message.to,
    content: composeWhatsapp(message, deps.content),
    statusCallback: deps.statusCallbackUrl(),
  };
  const log = meta.logger;
  let result: SendOnceResult;
  try {
    result = await deps.repository.sendOnce(
      {
        orderId: message.orderId,
        messageId: meta.messageId,
        to: message.to,
        traceparent: meta.traceparent,
        sms: deps.smsFallback ? { body: composeSmsText(message), subscriber: message.subscriber } : undefined,
      },
      () => sendOrFallBack(message, outbound, deps, meta),
    );
  } catch (err) {
    if (err instanceof SkipSend) {
      log?.info({ reason: err.reason }, 'not sending: opted out');
      await deps.events.skipped({ orderId: message.orderId, reason: err.reason }, meta);
      return { kind: 'skipped', reason: err.reason };
    }
    if (!(err instanceof WhatsappDeliveryError)) throw err;
    if (err.retryable) {
      const noAnswer = err.httpStatus === undefined;
      if (noAnswer || isLastAttempt(meta)) return { kind: 'unreachable', reason: err.message };
      return { kind: 'deferred', reason: err.message };
    }
    if (err.configuration) {
      log?.error(
        { httpStatus: err.httpStatus, twilioCode: err.errorCode },
        'TWILIO CREDENTIALS REJECTED: check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN; WhatsApp messages are being dead-lettered until this is fixed',
      );
    } else {
      log?.warn({ httpStatus: err.httpStatus, twilioCode: err.errorCode }, 'Twilio refused the message');
    }
    await deps.events.failed(
      {
        orderId: message.orderId,
        reason: `${err.message} (${err.detail ?? ''})`.slice(0, 1000),
        errorCode: err.errorCode,
      },
      meta,
    );
    return { kind: 'rejected', reason: err.message, detail: err.detail };
  }

  if (result.outcome === 'sent' && result.record.via === 'sms') {
    log?.info({ messageSid: result.record.messageSid, reason: result.record.fallbackReason }, 'sent as SMS');
  }
  if (result.outcome === 'duplicate') {
    log?.info(
      { messageSid: result.record.messageSid },
      'order already has a WhatsApp message; not sending again',
    );
  } else {
    log?.info(
      { messageSid: result.record.messageSid, status: result.record.acceptedStatus },
      'WhatsApp message accepted',
    );
  }
  await deps.events.sent(result.record, meta);
  if (result.outcome === 'sent') {
    for (const status of result.earlyStatuses) await deps.events.status(status, meta);
  }
  return { kind: result.outcome, record: result.record };
}

/**
 * Runs inside the order's claim (sendOnce), so at most one of all deliveries of the order
 * gets here without a recorded message: the preferences are asked at send time (an
 * opt-out reaches orders queued before it), and a WhatsApp error that SMS can get round
 * sends the same notification as SMS, recorded as the order's one message.
 */
async function sendOrFallBack(
  message: WhatsappMessage,
  outbound: OutboundWhatsapp,
  deps: SendOrderWhatsappDeps,
  meta: DeliveryMeta,
): Promise<AcceptedMessage> {
  if (message.subscriber && (await deps.preferences.optedOut(message.subscriber))) {
    throw new SkipSend(SKIP_REASONS.customer);
  }
  if (await deps.optOuts.isOptedOut(message.to)) {
    throw new SkipSend(SKIP_REASONS.stop);
  }
  try {
    return await deps.sender.send(outbound);
  } catch (err) {
    if (!(err instanceof WhatsappDeliveryError) || err.errorCode === undefined) throw err;
    if (err.errorCode === UNSUBSCRIBED_CODE) throw await numberUnsubscribed(message.to, deps);
    if (!deps.smsFallback || !SMS_FALLBACK_CODES.has(err.errorCode)) throw err;
    meta.logger?.info({ twilioCode: err.errorCode }, 'WhatsApp cannot reach the number; sending SMS');
    try {
      const sms = await deps.sender.sendSms({
        to: message.to,
        body: composeSmsText(message),
        statusCallback: outbound.statusCallback,
      });
      return { ...sms, via: 'sms', fallbackReason: `WhatsApp error ${err.errorCode}: ${err.message}` };
    } catch (smsErr) {
      if (smsErr instanceof WhatsappDeliveryError && smsErr.errorCode === UNSUBSCRIBED_CODE) {
        throw await numberUnsubscribed(message.to, deps);
      }
      throw smsErr;
    }
  }
}

/** Twilio says the number unsubscribed (21610): remembered, so nothing more is tried. */
async function numberUnsubscribed(phone: string, deps: SendOrderWhatsappDeps): Promise<SkipSend> {
  await deps.optOuts.optOut(phone, 'twilio-21610');
  return new SkipSend(SKIP_REASONS.unsubscribed);
}
