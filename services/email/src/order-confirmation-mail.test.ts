import { exampleMessages } from '@notify/contracts';
import type { EmailMessage } from '@notify/contracts';
import { verifyUnsubscribeToken } from '@notify/service-kit';
import { simpleParser } from 'mailparser';
import nodemailer from 'nodemailer';
import { describe, expect, it } from 'vitest';
import { nodemailerMessage } from './adapters/smtp-mail-sender.js';
import { composeOrderConfirmation, orderConfirmationMessageId } from './order-confirmation-mail.js';
import type { OutgoingMail } from './order-confirmation-mail.js';

const settings = {
  from: { name: 'Notify Shop', address: 'orders@example.com' },
  replyTo: { address: 'help@example.com' },
  messageIdDomain: 'mail.example.com',
  defaultLocale: 'en-GB' as const,
  unsubscribe: {
    url: 'https://api.example.com/unsubscribe',
    secret: 'unsubscribe-secret-for-tests-0123456789',
  },
};

/** The MIME message the sender puts on the wire, parsed back the way a mail client would. */
async function wireFormat(mail: OutgoingMail) {
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  const info = await transport.sendMail(nodemailerMessage(mail));
  return simpleParser(info.message as Buffer);
}

describe('composeOrderConfirmation', () => {
  it('puts an RFC 8058 one-click unsubscribe link, signed for the subscriber, on the wire', async () => {
    const subscriber = { client: 'shop-eu', customerKey: 'cust-42' };
    const mail = composeOrderConfirmation({ ...exampleMessages.email, subscriber }, settings);
    const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
    // Unfolded, as a mail client reads the header (a long one is folded on the wire).
    const raw = String((await transport.sendMail(nodemailerMessage(mail))).message).replace(/\n[ \t]+/g, ' ');
    expect(raw).toContain('\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\n');
    expect(raw).toMatch(/\nList-Unsubscribe: <https:\/\/api\.example\.com\/unsubscribe\?token=/);
    const link = /<([^>]+)>/.exec(String(mail.headers['List-Unsubscribe']))?.[1];
    const url = new URL(link ?? '');
    expect(`${url.origin}${url.pathname}`).toBe('https://api.example.com/unsubscribe');
    expect(verifyUnsubscribeToken(url.searchParams.get('token') ?? '', settings.unsubscribe.secret)).toEqual({
      ...subscriber,
      channel: 'email',
    });
  });

  it('derives the Message-ID from the order id, so every attempt carries the same one', () => {
    const a = composeOrderConfirmation(exampleMessages.email, settings);
    const b = composeOrderConfirmation(structuredClone(exampleMessages.email), settings);
    expect(a.messageId).toBe('<order-confirmation.3f2c1a9e-7b4d-4c8e-9f1a-2b3c4d5e6f70@mail.example.com>');
    expect(b.messageId).toBe(a.messageId);
    expect(orderConfirmationMessageId('ABC', 'x.example')).toBe('<order-confirmation.abc@x.example>');
  });

  it('survives MIME encoding: headers, localised subject, both bodies and escaped HTML', async () => {
    const message: EmailMessage = {
      ...structuredClone(exampleMessages.email),
      locale: 'de-DE',
      recipient: { name: '<script>alert(1)</script>', email: 'ada@example.com' },
    };
    const mail = composeOrderConfirmation(message, settings);
    const parsed = await wireFormat(mail);
    expect(parsed.subject).toBe('Ihre Bestellung ORD-3F2C1A9E ist bestätigt');
    expect(parsed.messageId).toBe(mail.messageId);
    expect(parsed.from?.value).toEqual([{ name: 'Notify Shop', address: 'orders@example.com' }]);
    expect(parsed.replyTo?.value).toEqual([{ name: '', address: 'help@example.com' }]);
    const to = Array.isArray(parsed.to) ? parsed.to[0] : parsed.to;
    expect(to?.value).toEqual([{ name: '<script>alert(1)</script>', address: 'ada@example.com' }]);
    expect(parsed.headers.get('x-order-id')).toBe(message.orderId);
    expect(parsed.headers.get('auto-submitted')).toBe('auto-generated');
    expect(parsed.headers.get('content-language')).toBe('de-DE');
    expect(parsed.text).toContain('Hallo <script>alert(1)</script>,');
    expect(parsed.html).toContain('Hallo &lt;script&gt;alert(1)&lt;/script&gt;,');
    expect(parsed.html).not.toContain('<script>');
    expect(parsed.html).toContain('Gesamtbetrag');
  });

  it('falls back to the configured default locale for a tag the templates do not speak', () => {
    const message = { ...structuredClone(exampleMessages.email), locale: 'ja-JP' } as unknown as EmailMessage;
    const mail = composeOrderConfirmation(message, { ...settings, defaultLocale: 'fr-FR' });
    expect(mail.locale).toBe('fr-FR');
    expect(mail.subject).toBe('Votre commande ORD-3F2C1A9E est confirmée');
  });
});
