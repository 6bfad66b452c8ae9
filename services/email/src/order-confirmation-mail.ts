import { signUnsubscribeToken } from '@notify/service-kit';
import type { EmailMessage, Locale } from '@notify/contracts';
import type { Mailbox } from './mailbox.js';
import { resolveLocale } from './templates/locale.js';
import { renderOrderConfirmation } from './templates/order-confirmation.js';

/** A composed email, ready for any SMTP client. */
export interface OutgoingMail {
  readonly from: Mailbox;
  readonly replyTo: Mailbox | undefined;
  readonly to: Mailbox;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
  /** Message-ID header, angle brackets included. */
  readonly messageId: string;
  readonly locale: Locale;
  readonly headers: Readonly<Record<string, string>>;
}

export interface SenderSettings {
  /** Where the one-click unsubscribe link points (the order API's /unsubscribe) and its HMAC key. */
  readonly unsubscribe: { readonly url: string; readonly secret: string };
  readonly from: Mailbox;
  readonly replyTo: Mailbox | undefined;
  readonly messageIdDomain: string;
  readonly defaultLocale: Locale;
}

/**
 * The Message-ID of an order's confirmation. The same for every attempt, so a copy sent
 * again after a crash is recognisably the same message: mailbox providers and clients
 * that de-duplicate by Message-ID show it once, and support can match the two.
 */
export function orderConfirmationMessageId(orderId: string, domain: string): string {
  return `<order-confirmation.${orderId.toLowerCase()}@${domain}>`;
}

export function composeOrderConfirmation(message: EmailMessage, settings: SenderSettings): OutgoingMail {
  const locale = resolveLocale(message.locale, settings.defaultLocale);
  const shopName = settings.from.name ?? settings.messageIdDomain;
  const rendered = renderOrderConfirmation(message, locale, shopName);
  return {
    from: settings.from,
    replyTo: settings.replyTo,
    to: { name: message.recipient.name, address: message.recipient.email },
    subject: rendered.subject,
    text: rendered.text,
    html: rendered.html,
    messageId: orderConfirmationMessageId(message.orderId, settings.messageIdDomain),
    locale,
    headers: {
      'X-Order-Id': message.orderId,
      'X-Order-Reference': message.order.reference.replace(/[\r\n]+/g, ' '),
      // RFC 3834: tells auto-responders (out-of-office) not to answer.
      'Auto-Submitted': 'auto-generated',
      'Content-Language': locale,
      ...(message.subscriber ? unsubscribeHeaders(message.subscriber, settings.unsubscribe) : {}),
    },
  };
}

/**
 * RFC 8058 one-click unsubscribe: the link carries a token signed for this subscriber,
 * and List-Unsubscribe-Post tells the mail client it may POST to it without a page in
 * between. (The receiving providers trust these headers only under a DKIM signature that
 * covers them: the outgoing relay's job.)
 */
export function unsubscribeHeaders(
  subscriber: { readonly client: string; readonly customerKey: string },
  unsubscribe: SenderSettings['unsubscribe'],
): Record<string, string> {
  const token = signUnsubscribeToken({ ...subscriber, channel: 'email' }, unsubscribe.secret);
  const url = new URL(unsubscribe.url);
  url.searchParams.set('token', token);
  return {
    'List-Unsubscribe': `<${url.toString()}>`,
    'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
  };
}
