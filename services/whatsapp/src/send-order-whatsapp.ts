import type { WhatsappMessage } from '@notify/contracts';
import type { Logger } from 'pino';
import { composeWhatsapp } from './compose-message.js';
import type { ContentSettings, WhatsappContent } from './compose-message.js';
import { WhatsappRejectedError } from './twilio-failure.js';
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
}

/** Sends one message; throws RetryableError or WhatsappRejectedError (see twilio-failure.ts). */
export interface WhatsappProvider {
  send(message: OutboundWhatsapp): Promise<AcceptedMessage>;
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
}

/** One status of a message as first recorded; re-publications reuse it unchanged. */
export interface StatusRecord {
  readonly orderId: string;
  readonly messageSid: string;
  readonly status: WhatsappStatus;
  readonly errorCode: number | undefined;
  readonly occurredAt: string;
}

export type SendOnceResult =
  | { readonly outcome: 'sent'; readonly record: SentRecord; readonly earlyStatuses: readonly StatusRecord[] }
  | { readonly outcome: 'duplicate'; readonly record: SentRecord };

export interface MessageLedger {
  /**
   * Calls `send` only if the order has no message yet, holding the order's claim while it
   * runs, and records the accepted message in the same transaction. Statuses Twilio
   * reported before that record existed are merged and returned as `earlyStatuses`.
   */
  sendOnce(
    claim: { orderId: string; messageId: string; to: string },
    send: () => Promise<AcceptedMessage>,
  ): Promise<SendOnceResult>;
  findByMessageId(messageId: string): Promise<SentRecord | undefined>;
}

export interface TraceContext {
  readonly traceparent: string | undefined;
}

/** Outcome events on `order.events`, with stable message ids so re-publications deduplicate. */
export interface OutcomeEvents {
  sent(record: SentRecord, trace: TraceContext): Promise<void>;
  status(record: StatusRecord, trace: TraceContext): Promise<void>;
  failed(
    failure: { orderId: string; reason: string; errorCode: number | undefined },
    trace: TraceContext,
  ): Promise<void>;
}

export interface SendWhatsappPorts {
  readonly provider: WhatsappProvider;
  readonly ledger: MessageLedger;
  readonly events: OutcomeEvents;
  readonly content: ContentSettings;
  /** Where Twilio should post status callbacks; undefined sends none. */
  readonly statusCallbackUrl: () => string | undefined;
}

export interface SendContext extends TraceContext {
  readonly messageId: string;
  readonly logger: Logger | undefined;
}

/**
 * Sends the order's WhatsApp message once. A repeated delivery (same message, or a replay
 * of the order's message under another id) sends nothing and re-publishes the stored
 * `whatsapp.sent`, because the first attempt may have stopped after Twilio accepted and
 * before the event was confirmed. A permanent refusal is published as `whatsapp.failed`
 * and re-thrown so the message is dead-lettered with Twilio's code in its headers.
 */
export async function sendOrderWhatsapp(
  message: WhatsappMessage,
  ctx: SendContext,
  ports: SendWhatsappPorts,
): Promise<SendOnceResult['outcome']> {
  const outbound: OutboundWhatsapp = {
    to: message.to,
    content: composeWhatsapp(message, ports.content),
    statusCallback: ports.statusCallbackUrl(),
  };
  let result: SendOnceResult;
  try {
    result = await ports.ledger.sendOnce(
      { orderId: message.orderId, messageId: ctx.messageId, to: message.to },
      () => ports.provider.send(outbound),
    );
  } catch (err) {
    if (err instanceof WhatsappRejectedError) {
      if (err.configuration) {
        ctx.logger?.error(
          { httpStatus: err.httpStatus, twilioCode: err.errorCode },
          'TWILIO CREDENTIALS REJECTED: check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN; WhatsApp messages are being dead-lettered until this is fixed',
        );
      } else {
        ctx.logger?.warn(
          { httpStatus: err.httpStatus, twilioCode: err.errorCode },
          'Twilio refused the message',
        );
      }
      await ports.events.failed(
        {
          orderId: message.orderId,
          reason: `${err.message} (${err.detail ?? ''})`.slice(0, 1000),
          errorCode: err.errorCode,
        },
        ctx,
      );
    }
    throw err;
  }

  if (result.outcome === 'duplicate') {
    ctx.logger?.info(
      { messageSid: result.record.messageSid },
      'order already has a WhatsApp message; not sending again',
    );
  } else {
    ctx.logger?.info(
      { messageSid: result.record.messageSid, status: result.record.acceptedStatus },
      'WhatsApp message accepted',
    );
  }
  await ports.events.sent(result.record, ctx);
  if (result.outcome === 'sent') {
    for (const status of result.earlyStatuses) await ports.events.status(status, ctx);
  }
  return result.outcome;
}
