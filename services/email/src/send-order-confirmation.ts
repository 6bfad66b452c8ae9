import type { EmailMessage } from '@notify/contracts';
import { isLastAttempt } from '@notify/service-kit';
import type { DeliveryMeta, Logger, PreferenceLookup, TraceMeta } from '@notify/service-kit';
import type { OutgoingMail } from './order-confirmation-mail.js';
import { classifySmtpError } from './smtp-failure.js';

/** A recorded, completed send: what the `email.sent` event is made of. */
export interface SentConfirmation {
  readonly orderId: string;
  readonly recipient: string;
  readonly locale: string;
  readonly smtpMessageId: string;
  readonly sentAt: Date;
}

export type ClaimResult =
  /** This delivery may send. `previous` tells what it took over from, if anything. */
  | {
      readonly kind: 'claimed';
      readonly token: string;
      readonly previous: 'sending' | 'deferred' | 'failed' | null;
    }
  /** Sent before: re-publish, never send again. */
  | { readonly kind: 'sent'; readonly record: SentConfirmation }
  /** Another delivery holds a live claim: it is sending right now. */
  | { readonly kind: 'busy'; readonly leaseUntil: Date };

/** A delivery's claim on sending an order's confirmation. */
export interface ClaimRequest {
  readonly orderId: string;
  readonly deliveryMessageId: string;
  readonly recipient: string;
  readonly locale: string;
  readonly smtpMessageId: string;
  readonly leaseMs: number;
}

/** The per-order record of the confirmation, in the service's own schema. */
export interface ConfirmationRepository {
  claim(input: ClaimRequest): Promise<ClaimResult>;
  /**
   * claim for many deliveries in one transaction, one result per request in order; of
   * two deliveries of one order in the list, the first claims and the second is busy.
   */
  claimAll(inputs: readonly ClaimRequest[]): Promise<readonly ClaimResult[]>;
  markSent(orderId: string, result: { smtpResponse: string; sentAt: Date }): Promise<SentConfirmation>;
  /** Records a final failure; a later delivery (a replay) may claim again. */
  markFailed(
    orderId: string,
    token: string,
    failure: { reason: string; smtpResponse?: string },
  ): Promise<void>;
  /** Gives up a claim after a transient failure that sent nothing, so the next attempt need not wait. */
  release(orderId: string, token: string, failure: { reason: string; smtpResponse?: string }): Promise<void>;
}

export interface MailSender {
  /** Resolves with the server's reply once it accepted the message; throws MailDeliveryError. */
  send(mail: OutgoingMail): Promise<{ smtpResponse: string }>;
}

/** `email.sent` and `email.failed` on order.events; each resolves once the broker confirmed. */
export interface ConfirmationEvents {
  sent(record: SentConfirmation, trace: TraceMeta): Promise<void>;
  failed(
    failure: { orderId: string; reason: string; smtpResponse?: string; occurredAt: Date },
    trace: TraceMeta,
  ): Promise<void>;
  /** `email.skipped`: the customer opted out; the channel is done. */
  skipped(skip: { orderId: string; reason: string; occurredAt: Date }, trace: TraceMeta): Promise<void>;
}

export interface SendOrderConfirmationDeps {
  readonly compose: (message: EmailMessage) => OutgoingMail;
  readonly repository: ConfirmationRepository;
  readonly sender: MailSender;
  readonly events: ConfirmationEvents;
  /** The service's copy of customer preferences, asked before every send. */
  readonly preferences: PreferenceLookup;
  readonly leaseMs: number;
  readonly now?: () => Date;
  /**
   * Pause before the n-th new try to record a send the server accepted but the database
   * did not take (default: 250 ms doubling up to 4 s). Tries go on while the claim's
   * lease holds, so no other delivery can send meanwhile.
   */
  readonly recordRetryDelayMs?: (attempt: number) => number;
}

const defaultRecordRetryDelayMs = (attempt: number) => Math.min(4_000, 250 * 2 ** (attempt - 1));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export type ConfirmationOutcome =
  /** Sent now, recorded and announced. */
  | { readonly kind: 'sent'; readonly record: SentConfirmation }
  /** Sent by an earlier delivery: announced again, nothing sent. */
  | { readonly kind: 'already-sent'; readonly record: SentConfirmation }
  /** Another delivery of the order is sending right now; try again later. */
  | { readonly kind: 'busy'; readonly reason: string }
  /**
   * The server deferred the mail or could not be reached. `final` on the last attempt
   * the consumer allows: the failure is then recorded and `email.failed` published.
   */
  | { readonly kind: 'deferred'; readonly reason: string; readonly final: boolean }
  /**
   * The SMTP server gave no answer at all (refused, reset, timed out): an outage, not the
   * message's fault, on any attempt. The claim is released and nothing is published; the
   * consumer pauses until the server answers instead of spending attempts.
   */
  | { readonly kind: 'unreachable'; readonly reason: string }
  /** The customer opted out of order emails: nothing sent, `email.skipped` published. */
  | { readonly kind: 'skipped'; readonly reason: string }
  /** The server refused the mail for good; recorded and `email.failed` published. */
  | { readonly kind: 'rejected'; readonly reason: string; readonly detail: string };

/**
 * Sends an order's confirmation at most once per order. The claim is recorded before
 * the SMTP call and the result after it; a delivery that finds the mail already sent
 * re-publishes `email.sent` (the first attempt may have died before its event was
 * confirmed) and sends nothing. See README.md for the window this leaves. Throws only
 * for the unexpected (the database away while claiming, a broker that does not confirm).
 */
export async function sendOrderConfirmation(
  message: EmailMessage,
  delivery: DeliveryMeta,
  deps: SendOrderConfirmationDeps,
): Promise<ConfirmationOutcome> {
  const mail = deps.compose(message);
  // The lease the claim holds starts no earlier than this (the database sets it on commit).
  const claimStartedAt = Date.now();
  const claim = await deps.repository.claim(claimRequest(message, delivery, mail, deps));
  return afterClaim({ message, delivery, mail, claim, claimStartedAt }, deps);
}

/** One message of a window and its delivery. */
export interface ConfirmationRequest {
  readonly message: EmailMessage;
  readonly delivery: DeliveryMeta;
}

/**
 * sendOrderConfirmation for a window: every order's claim is taken in one transaction,
 * then each message goes on alone (preferences, its own SMTP send through the pooled
 * transport, its record and its event) and at once. Each message's result is its own;
 * a database failure while claiming rejects the window before anything is sent.
 */
export async function sendOrderConfirmations(
  requests: readonly ConfirmationRequest[],
  deps: SendOrderConfirmationDeps,
): Promise<PromiseSettledResult<ConfirmationOutcome>[]> {
  const mails = requests.map((r) => deps.compose(r.message));
  const claimStartedAt = Date.now();
  const claims = await deps.repository.claimAll(
    requests.map((r, i) => claimRequest(r.message, r.delivery, mails[i]!, deps)),
  );
  return Promise.allSettled(
    requests.map((r, i) => afterClaim({ ...r, mail: mails[i]!, claim: claims[i]!, claimStartedAt }, deps)),
  );
}

function claimRequest(
  message: EmailMessage,
  delivery: DeliveryMeta,
  mail: OutgoingMail,
  deps: SendOrderConfirmationDeps,
): ClaimRequest {
  return {
    orderId: message.orderId,
    deliveryMessageId: delivery.messageId,
    recipient: mail.to.address,
    locale: mail.locale,
    smtpMessageId: mail.messageId,
    leaseMs: deps.leaseMs,
  };
}

/** The rest of one message's story once its claim is known. */
async function afterClaim(
  c: {
    readonly message: EmailMessage;
    readonly delivery: DeliveryMeta;
    readonly mail: OutgoingMail;
    readonly claim: ClaimResult;
    readonly claimStartedAt: number;
  },
  deps: SendOrderConfirmationDeps,
): Promise<ConfirmationOutcome> {
  const { message, delivery, mail, claim, claimStartedAt } = c;
  const now = deps.now ?? (() => new Date());
  const log = delivery.logger;
  const trace = { traceparent: delivery.traceparent };
  const orderId = message.orderId;
  if (claim.kind === 'sent') {
    log?.info(
      { smtpMessageId: claim.record.smtpMessageId },
      'confirmation already sent; re-publishing email.sent',
    );
    await deps.events.sent(claim.record, trace);
    return { kind: 'already-sent', record: claim.record };
  }
  if (claim.kind === 'busy') {
    return {
      kind: 'busy',
      reason: `another delivery of order ${orderId} is sending its confirmation (claim held until ${claim.leaseUntil.toISOString()})`,
    };
  }
  // Asked at send time, not when the order was placed: an opt-out reaches orders already
  // queued. After the claim, so a mail sent before the opt-out is announced as sent.
  if (message.subscriber && (await deps.preferences.optedOut(message.subscriber))) {
    const reason = 'the customer opted out of order emails';
    // Gives the claim up without a send: a later delivery checks the preferences again.
    await deps.repository.release(orderId, claim.token, { reason });
    await deps.events.skipped({ orderId, reason, occurredAt: now() }, trace);
    log?.info('customer opted out of order emails; skipped');
    return { kind: 'skipped', reason };
  }
  if (claim.previous === 'sending') {
    log?.warn(
      { smtpMessageId: mail.messageId },
      'an earlier attempt ended without a result; sending again with the same Message-ID',
    );
  }

  let smtpResponse: string;
  try {
    ({ smtpResponse } = await deps.sender.send(mail));
  } catch (err) {
    const failure = classifySmtpError(err);
    const detail = smtpDetail(failure.responseCode, failure.smtpResponse);
    if (failure.unreachable) {
      await deps.repository.release(orderId, claim.token, { reason: failure.message.slice(0, 1000) });
      log?.warn({ err: failure.message, code: failure.code }, 'SMTP server unreachable; holding the message');
      return { kind: 'unreachable', reason: failure.message };
    }
    if (failure.retryable) {
      const final = isLastAttempt(delivery);
      if (final) {
        // The consumer dead-letters the message after this attempt: the failure is final.
        const reason = `gave up after ${delivery.attempt} attempts: ${failure.message}`.slice(0, 1000);
        await deps.repository.markFailed(orderId, claim.token, {
          reason,
          ...(detail ? { smtpResponse: detail } : {}),
        });
        await deps.events.failed(
          { orderId, reason, ...(detail ? { smtpResponse: detail } : {}), occurredAt: now() },
          trace,
        );
      } else {
        await deps.repository.release(orderId, claim.token, {
          reason: failure.message.slice(0, 1000),
          ...(detail ? { smtpResponse: detail } : {}),
        });
      }
      log?.warn(
        { err: failure.message, code: failure.code, responseCode: failure.responseCode, final },
        'send deferred',
      );
      return { kind: 'deferred', reason: failure.message, final };
    }
    const reason = failure.message.slice(0, 1000);
    await deps.repository.markFailed(orderId, claim.token, {
      reason,
      ...(detail ? { smtpResponse: detail } : {}),
    });
    await deps.events.failed(
      { orderId, reason, ...(detail ? { smtpResponse: detail } : {}), occurredAt: now() },
      trace,
    );
    log?.error(
      { err: failure.message, code: failure.code, responseCode: failure.responseCode },
      'send rejected',
    );
    return { kind: 'rejected', reason, detail: detail ?? failure.code ?? failure.message };
  }

  // From here until markSent commits lies the window README.md describes.
  const record = await recordSent(orderId, { smtpResponse, sentAt: now() }, claimStartedAt, deps, log);
  log?.info({ smtpMessageId: record.smtpMessageId, locale: record.locale }, 'order confirmation sent');
  await deps.events.sent(record, trace);
  return { kind: 'sent', record };
}

/**
 * Records an accepted send. The mail is out: if the database cannot take the record right
 * now (restarted, failed over, a dropped connection), giving up would leave the claim
 * `sending` and the next delivery would send the mail again once the lease expired. So
 * the record is tried again for as long as the lease keeps every other delivery from
 * sending (with a margin for clock skew); only then is the failure thrown.
 */
async function recordSent(
  orderId: string,
  result: { smtpResponse: string; sentAt: Date },
  claimStartedAt: number,
  deps: SendOrderConfirmationDeps,
  log: Logger | undefined,
): Promise<SentConfirmation> {
  const delay = deps.recordRetryDelayMs ?? defaultRecordRetryDelayMs;
  const deadline = claimStartedAt + deps.leaseMs - Math.min(5_000, deps.leaseMs / 10);
  for (let attempt = 1; ; attempt++) {
    try {
      return await deps.repository.markSent(orderId, result);
    } catch (err) {
      const wait = delay(attempt);
      if (Date.now() + wait >= deadline) throw err;
      log?.warn(
        { err: (err as Error).message, attempt },
        'the server accepted the mail but recording it failed; trying again while the claim holds',
      );
      await sleep(wait);
    }
  }
}

/** The server's reply with its code in front, as it goes into the dead letter's headers. */
function smtpDetail(code: number | undefined, response: string | undefined): string | undefined {
  if (!response) return code !== undefined ? String(code) : undefined;
  if (code === undefined || response.startsWith(String(code))) return response.slice(0, 1000);
  return `${code} ${response}`.slice(0, 1000);
}
