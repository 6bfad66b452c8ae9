import type { AddressObject, EmailAddress, ParsedMail } from 'mailparser';

export interface MailAddress {
  name: string;
  address: string;
}

export interface ReceivedAttachment {
  filename: string | null;
  contentType: string;
  size: number;
  contentId: string | null;
}

export interface ReceivedMail {
  id: string;
  /** UTC ISO 8601 time the catcher accepted the message. */
  receivedAt: string;
  /** What the client said in MAIL FROM / RCPT TO, which may differ from the headers (Bcc). */
  envelope: { from: string | null; to: string[] };
  from: MailAddress[];
  to: MailAddress[];
  cc: MailAddress[];
  replyTo: MailAddress[];
  subject: string;
  text: string | null;
  html: string | null;
  /** The Message-ID header, angle brackets included, as the sender wrote it. */
  messageId: string | null;
  /** The Date header as UTC ISO 8601. */
  date: string | null;
  /**
   * Every header by lower-case name, value unfolded but not MIME-decoded; repeated headers
   * (Received, for one) are joined with a newline.
   */
  headers: Record<string, string>;
  attachments: ReceivedAttachment[];
  /** Size of the message as transmitted, in bytes. */
  size: number;
}

export interface Envelope {
  from: string | null;
  to: string[];
}

function flattenAddresses(entries: EmailAddress[]): MailAddress[] {
  return entries.flatMap((entry) =>
    entry.group ? flattenAddresses(entry.group) : [{ name: entry.name, address: entry.address ?? '' }],
  );
}

function addresses(header: AddressObject | AddressObject[] | undefined): MailAddress[] {
  if (!header) return [];
  const objects = Array.isArray(header) ? header : [header];
  return objects.flatMap((object) => flattenAddresses(object.value));
}

function headerMap(parsed: ParsedMail): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const { key, line } of parsed.headerLines) {
    const colon = line.indexOf(':');
    const value = (colon === -1 ? '' : line.slice(colon + 1)).replace(/\r?\n[ \t]+/g, ' ').trim();
    const previous = headers[key];
    headers[key] = previous === undefined ? value : `${previous}\n${value}`;
  }
  return headers;
}

export function toReceivedMail(
  parsed: ParsedMail,
  meta: { id: string; receivedAt: Date; envelope: Envelope; size: number },
): ReceivedMail {
  return {
    id: meta.id,
    receivedAt: meta.receivedAt.toISOString(),
    envelope: { from: meta.envelope.from, to: [...meta.envelope.to] },
    from: addresses(parsed.from),
    to: addresses(parsed.to),
    cc: addresses(parsed.cc),
    replyTo: addresses(parsed.replyTo),
    subject: parsed.subject ?? '',
    text: parsed.text ?? null,
    html: typeof parsed.html === 'string' ? parsed.html : null,
    messageId: parsed.messageId ?? null,
    date: parsed.date && !Number.isNaN(parsed.date.getTime()) ? parsed.date.toISOString() : null,
    headers: headerMap(parsed),
    attachments: parsed.attachments.map((attachment) => ({
      filename: attachment.filename ?? null,
      contentType: attachment.contentType,
      size: attachment.size,
      contentId: attachment.contentId ?? null,
    })),
    size: meta.size,
  };
}
