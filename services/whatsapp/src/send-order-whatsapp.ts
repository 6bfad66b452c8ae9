import type { WhatsappMessage } from '@notify/contracts';
import { isDatabaseUnavailable, isLastAttempt } from '@notify/service-kit';
import { pino } from 'pino';
import type { DeliveryMeta, PreferenceLookup, Subscriber, TraceMeta } from '@notify/service-kit';
import { composeSmsText, composeWhatsapp } from './compose-message.js';
import type { ContentSettings, WhatsappContent } from './compose-message.js';
import { GroupRecorder } from './group-recorder.js';
import { publishStatus, SKIP_REASONS } from './late-sms-fallback.js';
import type { LateFallbackDeps } from './late-sms-fallback.js';
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

/**
 * Thrown by a sender instead of calling Twilio when its turn within Twilio's limits came too
 * late for the order's claim to outlast the call (`mayStart` said no): nothing was sent.
 */
export class SendNotStarted extends Error {
  override name = 'SendNotStarted';
}

/**
 * Sends one message; throws WhatsappDeliveryError when the provider refused or did not
 * answer. `mayStart`, when given, is asked once Twilio's limits let the call start; false
 * throws SendNotStarted without calling Twilio.
 */
export interface WhatsappSender {
  send(message: OutboundWhatsapp, mayStart?: () => boolean): Promise<AcceptedMessage>;
  /** The same Messages API from the SMS sender; throws WhatsappDeliveryError likewise. */
  sendSms(message: OutboundSms, mayStart?: () => boolean): Promise<AcceptedMessage>;
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

/** A delivery's request to claim sending its order's message. */
export interface ClaimRequest {
  readonly orderId: string;
  /** The delivery's message id, kept with the claim. */
  readonly messageId: string;
  readonly leaseMs: number;
}

export type ClaimResult =
  /** This delivery may send; `tookOver` when it took an expired claim of a worker that died. */
  | { readonly kind: 'claimed'; readonly token: string; readonly tookOver: boolean }
  /** The order has its message: re-publish it, never send again. */
  | { readonly kind: 'sent'; readonly record: SentRecord }
  /** Another delivery of the order holds a live claim: it is sending right now. */
  | { readonly kind: 'busy'; readonly leaseUntil: Date };

/** A message Twilio accepted under a claim, to be recorded as the order's message. */
export interface AcceptedSend {
  readonly claim: MessageClaim;
  readonly accepted: AcceptedMessage;
}

export type RecordResult =
  | { readonly outcome: 'sent'; readonly record: SentRecord; readonly earlyStatuses: readonly StatusRecord[] }
  /** The order had a message recorded already (a delivery that took an expired claim over): it stands. */
  | { readonly outcome: 'duplicate'; readonly record: SentRecord };

/** The order's message and its statuses, in the service's own schema. */
export interface MessageRepository {
  /**
   * Claims the orders of a window in one short transaction, one result per request in
   * order: `sent` for an order that has its message, `busy` while another delivery's claim
   * holds, else `claimed` with a token and a lease. Of two requests for one order, the first
   * claims and the second is busy. Nothing stays open across the calls to Twilio.
   */
  claimAll(requests: readonly ClaimRequest[]): Promise<readonly ClaimResult[]>;
  /**
   * Records accepted messages as their orders' messages in one transaction (multi-row),
   * ending their claims; statuses Twilio reported before a record existed are merged and
   * returned as `earlyStatuses`. One result per send, in order.
   */
  recordAll(sends: readonly AcceptedSend[]): Promise<readonly RecordResult[]>;
  /** Gives up a claim that sent nothing, so the next delivery need not wait for its lease. */
  release(orderId: string, token: string): Promise<void>;
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
  /** The fallback for a `failed` status parked before the send committed; undefined without an SMS sender. */
  readonly lateFallback?: LateFallbackDeps | undefined;
  /** How long a claim keeps the order's other deliveries from sending (WHATSAPP_SEND_LEASE_MS). */
  readonly leaseMs: number;
  /**
   * The longest one call to Twilio lasts (TWILIO_REQUEST_TIMEOUT_MS): a call starts only
   * while the claim still outlasts it, so no other delivery can send meanwhile.
   */
  readonly requestTimeoutMs: number;
  /** Monotonic milliseconds; default performance.now(). */
  readonly clock?: () => number;
  /** Pause before the n-th new try to record a message Twilio accepted (default 100 ms doubling up to 2 s). */
  readonly recordRetryDelayMs?: (attempt: number) => number;
}

const SILENT = pino({ level: 'silent' });
const defaultRecordRetryDelayMs = (attempt: number) => Math.min(2_000, 100 * 2 ** (attempt - 1));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

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
  /** Another delivery of the order is sending right now; try again later. */
  | { readonly kind: 'busy'; readonly reason: string }
  /** Twilio throttled or failed with attempts left, or the send could not start in time; nothing was sent. */
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

/** One message of a window and its delivery. */
export interface WhatsappRequest {
  readonly message: WhatsappMessage;
  readonly meta: DeliveryMeta;
}

/** A request made ready to claim and send. */
interface Prepared extends WhatsappRequest {
  readonly outbound: OutboundWhatsapp;
  readonly claim: MessageClaim;
}

/** What every message of a window shares once the window's claims are taken. */
interface WindowClaim {
  /** Whether a call to Twilio starting now ends while the claim still keeps others out. */
  readonly mayStart: () => boolean;
  /** Records an accepted send with the window's other records that are ready at the same time. */
  readonly record: (send: AcceptedSend, log: DeliveryMeta['logger']) => Promise<RecordResult>;
}

/**
 * Sends the order's WhatsApp message once: sendOrderWhatsapps for a window of one. Throws
 * only for the unexpected (the database away, a broker that does not confirm).
 */
export async function sendOrderWhatsapp(
  message: WhatsappMessage,
  meta: DeliveryMeta,
  deps: SendOrderWhatsappDeps,
): Promise<WhatsappOutcome> {
  const [result] = await sendOrderWhatsapps([{ message, meta }], deps);
  if (!result) throw new Error('a window of one message gave no result');
  if (result.status === 'rejected') throw result.reason;
  return result.value;
}

/**
 * Sends a window's WhatsApp messages, each once per order. Every order's claim is taken in
 * one short transaction (which is also the window's idempotency check); then each message
 * goes on alone and at once: the customer's preferences and the number's opt-outs, its call
 * to Twilio (within TWILIO_CONCURRENCY and TWILIO_MAX_PER_SECOND, which the sender keeps),
 * the SMS fallback when WhatsApp cannot reach the number, its record (group-committed with
 * the window's other records ready at the same moment) and its events. Each message's
 * result is its own; a database failure while claiming rejects the window before anything
 * is sent.
 *
 * A delivery for an order that has its message (same message, or a replay under another
 * id) sends nothing and re-publishes the stored `whatsapp.sent`, because the first attempt
 * may have stopped after Twilio accepted and before the event was confirmed. A permanent
 * refusal is published as `whatsapp.failed` and returned with Twilio's code, for the dead
 * letter's headers. See README.md for the window a crash leaves.
 */
export async function sendOrderWhatsapps(
  requests: readonly WhatsappRequest[],
  deps: SendOrderWhatsappDeps,
): Promise<PromiseSettledResult<WhatsappOutcome>[]> {
  // A message that cannot even be composed fails alone, unclaimed.
  const prepared = requests.map((r): Prepared | { readonly error: unknown } => {
    try {
      return prepare(r, deps);
    } catch (error) {
      return { error };
    }
  });
  const ready = prepared.filter((p): p is Prepared => !('error' in p));
  const clock = deps.clock ?? (() => performance.now());
  // The lease each claim holds starts no earlier than this (the database sets it on commit).
  const claimStartedAt = clock();
  const claims =
    ready.length > 0
      ? await deps.repository.claimAll(
          ready.map((p) => ({
            orderId: p.message.orderId,
            messageId: p.meta.messageId,
            leaseMs: deps.leaseMs,
          })),
        )
      : [];
  if (claims.length !== ready.length) {
    throw new Error(`the repository answered ${claims.length} claims for ${ready.length} messages`);
  }
  const claimOf = new Map(ready.map((p, i) => [p, claims[i] as ClaimResult]));
  const window = windowClaim(claimStartedAt, clock, deps);
  return Promise.allSettled(
    prepared.map((p) =>
      'error' in p ? Promise.reject(p.error) : afterClaim(p, claimOf.get(p) as ClaimResult, window, deps),
    ),
  );
}

function prepare(r: WhatsappRequest, deps: SendOrderWhatsappDeps): Prepared {
  const { message, meta } = r;
  return {
    message,
    meta,
    outbound: {
      to: message.to,
      content: composeWhatsapp(message, deps.content),
      statusCallback: deps.statusCallbackUrl(),
    },
    claim: {
      orderId: message.orderId,
      messageId: meta.messageId,
      to: message.to,
      traceparent: meta.traceparent,
      sms: deps.smsFallback ? { body: composeSmsText(message), subscriber: message.subscriber } : undefined,
    },
  };
}

/**
 * The claims' lease, seen from here: it keeps other deliveries out until at least
 * `claimStartedAt + leaseMs`, less a margin for the time the claim took to commit.
 */
function windowClaim(claimStartedAt: number, clock: () => number, deps: SendOrderWhatsappDeps): WindowClaim {
  const holdsUntil = claimStartedAt + deps.leaseMs - Math.min(5_000, deps.leaseMs / 10);
  const delay = deps.recordRetryDelayMs ?? defaultRecordRetryDelayMs;
  /**
   * Twilio accepted the message: if the database cannot take the record right now
   * (restarted, failed over, a dropped connection), giving up would let the next delivery
   * send again once the lease expired. So the record is tried again while the lease keeps
   * every other delivery from sending; only then is the failure thrown.
   */
  const recordAlone = async (send: AcceptedSend, log: DeliveryMeta['logger']): Promise<RecordResult> => {
    for (let attempt = 1; ; attempt++) {
      try {
        const [result] = await deps.repository.recordAll([send]);
        if (!result) throw new Error('the repository answered no record');
        return result;
      } catch (err) {
        const wait = delay(attempt);
        if (!isDatabaseUnavailable(err) || clock() + wait >= holdsUntil) throw err;
        log?.warn(
          { err: (err as Error).message, attempt },
          'Twilio accepted the message but recording it failed; trying again while the claim holds',
        );
        await sleep(wait);
      }
    }
  };
  const recorder = new GroupRecorder<{ send: AcceptedSend; log: DeliveryMeta['logger'] }, RecordResult>(
    (items) => deps.repository.recordAll(items.map((i) => i.send)),
    (item) => recordAlone(item.send, item.log),
  );
  return {
    mayStart: () => clock() + deps.requestTimeoutMs <= holdsUntil,
    record: (send, log) => recorder.write({ send, log }),
  };
}

/** The rest of one message's story once its claim is known. */
async function afterClaim(
  p: Prepared,
  claim: ClaimResult,
  window: WindowClaim,
  deps: SendOrderWhatsappDeps,
): Promise<WhatsappOutcome> {
  const { message, meta } = p;
  const log = meta.logger;
  const orderId = message.orderId;
  if (claim.kind === 'sent') {
    log?.info(
      { messageSid: claim.record.messageSid },
      'order already has a WhatsApp message; not sending again',
    );
    await deps.events.sent(claim.record, meta);
    return { kind: 'duplicate', record: claim.record };
  }
  if (claim.kind === 'busy') {
    return {
      kind: 'busy',
      reason: `another delivery of order ${orderId} is sending its WhatsApp message (claim held until ${claim.leaseUntil.toISOString()})`,
    };
  }
  if (claim.tookOver) {
    log?.warn('an earlier attempt ended without a result; sending again (the customer may get two messages)');
  }

  let accepted: AcceptedMessage;
  try {
    accepted = await sendOrFallBack(message, p.outbound, deps, meta, window.mayStart);
  } catch (err) {
    // Nothing was sent (or nothing this delivery can know of: see README.md, "The window").
    await releaseClaim(orderId, claim.token, deps, log);
    return notSent(err, message, meta, deps);
  }

  const result = await window.record({ claim: p.claim, accepted }, log);
  if (result.outcome === 'duplicate') {
    log?.warn(
      { messageSid: accepted.sid, recorded: result.record.messageSid },
      'the order got a message from another delivery meanwhile; that one stands',
    );
  } else {
    if (result.record.via === 'sms') {
      log?.info(
        { messageSid: result.record.messageSid, reason: result.record.fallbackReason },
        'sent as SMS',
      );
    }
    log?.info(
      { messageSid: result.record.messageSid, status: result.record.acceptedStatus },
      'WhatsApp message accepted',
    );
  }
  await deps.events.sent(result.record, meta);
  if (result.outcome === 'sent') {
    for (const status of result.earlyStatuses) {
      await publishStatus(status, result.record.via, { ...deps, trace: meta, log: log ?? SILENT });
    }
  }
  return { kind: result.outcome, record: result.record };
}

/** Gives the claim back; when the database cannot take it now, the lease ends it instead. */
async function releaseClaim(
  orderId: string,
  token: string,
  deps: SendOrderWhatsappDeps,
  log: DeliveryMeta['logger'],
): Promise<void> {
  try {
    await deps.repository.release(orderId, token);
  } catch (err) {
    log?.warn({ err: (err as Error).message }, 'could not give the claim back; it ends with its lease');
  }
}

/** The outcome of a message that was not sent, from why. */
async function notSent(
  err: unknown,
  message: WhatsappMessage,
  meta: DeliveryMeta,
  deps: SendOrderWhatsappDeps,
): Promise<WhatsappOutcome> {
  const log = meta.logger;
  if (err instanceof SkipSend) {
    log?.info({ reason: err.reason }, 'not sending: opted out');
    await deps.events.skipped({ orderId: message.orderId, reason: err.reason }, meta);
    return { kind: 'skipped', reason: err.reason };
  }
  if (err instanceof SendNotStarted) {
    log?.warn('Twilio is too slow to reach this message while its claim holds; trying later');
    if (isLastAttempt(meta)) return { kind: 'unreachable', reason: err.message };
    return { kind: 'deferred', reason: err.message };
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

/**
 * Runs under the order's claim, so at most one of all deliveries of the order gets here
 * without a recorded message: the preferences are asked at send time (an opt-out reaches
 * orders queued before it), and a WhatsApp error that SMS can get round sends the same
 * notification as SMS, recorded as the order's one message.
 */
async function sendOrFallBack(
  message: WhatsappMessage,
  outbound: OutboundWhatsapp,
  deps: SendOrderWhatsappDeps,
  meta: DeliveryMeta,
  mayStart: () => boolean,
): Promise<AcceptedMessage> {
  if (message.subscriber && (await deps.preferences.optedOut(message.subscriber))) {
    throw new SkipSend(SKIP_REASONS.customer);
  }
  if (await deps.optOuts.isOptedOut(message.to)) {
    throw new SkipSend(SKIP_REASONS.stop);
  }
  try {
    return await deps.sender.send(outbound, mayStart);
  } catch (err) {
    if (!(err instanceof WhatsappDeliveryError) || err.errorCode === undefined) throw err;
    if (err.errorCode === UNSUBSCRIBED_CODE) throw await numberUnsubscribed(message.to, deps);
    if (!deps.smsFallback || !SMS_FALLBACK_CODES.has(err.errorCode)) throw err;
    meta.logger?.info({ twilioCode: err.errorCode }, 'WhatsApp cannot reach the number; sending SMS');
    try {
      const sms = await deps.sender.sendSms(
        { to: message.to, body: composeSmsText(message), statusCallback: outbound.statusCallback },
        mayStart,
      );
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
