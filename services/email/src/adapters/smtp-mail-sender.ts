import nodemailer from 'nodemailer';
import type { Logger } from 'pino';
import type { EmailConfig } from '../config.js';
import type { OutgoingMail } from '../order-confirmation-mail.js';
import type { MailSender } from '../send-order-confirmation.js';
import { classifySmtpError } from '../smtp-failure.js';

/** The SMTP settings a sender needs (config.ts). */
export type SmtpSettings = Pick<
  EmailConfig,
  | 'smtp'
  | 'poolSize'
  | 'maxPerSecond'
  | 'maxMessagesPerConnection'
  | 'connectionTimeoutMs'
  | 'greetingTimeoutMs'
  | 'socketTimeoutMs'
  | 'requireTls'
>;

/** The composed mail as nodemailer's message options: what goes on the wire. */
export function nodemailerMessage(mail: OutgoingMail) {
  return {
    from: mail.from,
    to: mail.to,
    ...(mail.replyTo ? { replyTo: mail.replyTo } : {}),
    subject: mail.subject,
    text: mail.text,
    html: mail.html,
    messageId: mail.messageId,
    headers: { ...mail.headers },
  };
}

/**
 * Sends through a pool of SMTP connections: a confirmation per order is a steady
 * stream, and a new TCP + TLS + AUTH handshake per message would cost more than the
 * message itself. Errors leave as classified MailDeliveryErrors.
 */
export class SmtpMailSender implements MailSender {
  private readonly transporter: ReturnType<typeof nodemailer.createTransport>;

  constructor(config: SmtpSettings, logger?: Logger) {
    this.transporter = nodemailer.createTransport({
      pool: true,
      host: config.smtp.host,
      port: config.smtp.port,
      secure: config.smtp.secure,
      requireTLS: config.requireTls,
      ...(config.smtp.auth ? { auth: { user: config.smtp.auth.user, pass: config.smtp.auth.pass } } : {}),
      maxConnections: config.poolSize,
      // Relays cap sends per second; nodemailer's pool holds mails back to stay under it.
      ...(config.maxPerSecond > 0 ? { rateLimit: config.maxPerSecond, rateDelta: 1000 } : {}),
      maxMessages: config.maxMessagesPerConnection,
      connectionTimeout: config.connectionTimeoutMs,
      greetingTimeout: config.greetingTimeoutMs,
      socketTimeout: config.socketTimeoutMs,
      // nodemailer's own logger would print whole SMTP conversations, message bodies included.
      logger: false,
      debug: false,
    });
    // An idle pooled connection dropped by the server surfaces here; sends reconnect by themselves.
    this.transporter.on('error', (err: Error) =>
      logger?.warn({ err: err.message, component: 'smtp-pool' }, 'smtp pool error'),
    );
  }

  async send(mail: OutgoingMail): Promise<{ smtpResponse: string }> {
    try {
      const info = await this.transporter.sendMail(nodemailerMessage(mail));
      return { smtpResponse: String(info.response) };
    } catch (err) {
      throw classifySmtpError(err);
    }
  }

  async close(): Promise<void> {
    this.transporter.close();
  }
}
