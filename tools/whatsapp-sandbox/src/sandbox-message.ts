import { randomBytes } from 'node:crypto';
import type { FormParams } from './form-body.js';

export interface StatusChange {
  status: string;
  /** UTC ISO 8601. */
  at: string;
}

/** One POST of a status callback, successful or not. */
export interface CallbackAttempt {
  status: string;
  /** 1 for the first try of this status, 2 for its first retry, and so on. */
  attempt: number;
  url: string;
  /** The receiver's HTTP status, or null when no answer came (refused, timed out). */
  httpStatus: number | null;
  error: string | null;
  /** UTC ISO 8601 time the attempt finished. */
  at: string;
  /** The form parameters sent, exactly as signed. */
  params: Record<string, string>;
  signature: string;
}

export interface SandboxMessage {
  sid: string;
  /** WhatsApp, or SMS (the fallback): what the `To` address said. */
  channel: 'whatsapp' | 'sms';
  accountSid: string;
  to: string;
  from: string;
  body: string | null;
  contentSid: string | null;
  /** ContentVariables parsed from its JSON string. */
  contentVariables: Record<string, string> | null;
  mediaUrls: string[];
  statusCallback: string | null;
  status: string;
  errorCode: number | null;
  /** UTC ISO 8601. */
  dateCreated: string;
  dateUpdated: string;
  /** Every form parameter as received, for assertions on fields the sandbox does not model. */
  params: FormParams;
  statusHistory: StatusChange[];
  callbacks: CallbackAttempt[];
}

export const API_VERSION = '2010-04-01';

export function newMessageSid(): string {
  return `SM${randomBytes(16).toString('hex')}`;
}

/** Twilio's resources carry RFC 2822 dates such as "Thu, 24 Aug 2023 05:01:45 +0000". */
export function rfc2822(iso: string): string {
  return new Date(iso).toUTCString().replace(/GMT$/, '+0000');
}

export function messageUri(accountSid: string, sid: string): string {
  return `/${API_VERSION}/Accounts/${accountSid}/Messages/${sid}.json`;
}

const SENT_STATUSES: ReadonlySet<string> = new Set(['sent', 'delivered', 'read', 'undelivered', 'failed']);

/** The `api.v2010.account.message` resource as Twilio's Messages API returns it. */
export function toMessageResource(message: SandboxMessage) {
  const sentAt = message.statusHistory.find((change) => SENT_STATUSES.has(change.status))?.at ?? null;
  const uri = messageUri(message.accountSid, message.sid);
  return {
    account_sid: message.accountSid,
    api_version: API_VERSION,
    body: message.body,
    date_created: rfc2822(message.dateCreated),
    date_sent: sentAt === null ? null : rfc2822(sentAt),
    date_updated: rfc2822(message.dateUpdated),
    direction: 'outbound-api',
    error_code: message.errorCode,
    error_message: null,
    from: message.from,
    messaging_service_sid:
      typeof message.params.MessagingServiceSid === 'string' ? message.params.MessagingServiceSid : null,
    num_media: String(message.mediaUrls.length),
    // WhatsApp does not split messages into segments the way SMS does.
    num_segments: '1',
    price: null,
    price_unit: null,
    sid: message.sid,
    status: message.status,
    subresource_uris: { media: uri.replace(/\.json$/, '/Media.json') },
    to: message.to,
    uri,
  };
}

export type MessageResource = ReturnType<typeof toMessageResource>;
