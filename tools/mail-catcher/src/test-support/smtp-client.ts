import nodemailer from 'nodemailer';
import type { MailCatcher } from '../mail-catcher.js';

/** A plain nodemailer SMTP transport, as the email service would build from SMTP_URL. */
export function transportFor(catcher: MailCatcher) {
  // No pooling: each send is its own connection, so every attempt is a separate transaction.
  return nodemailer.createTransport(catcher.smtpUrl);
}

export interface SmtpFailure {
  responseCode?: number;
  response?: string;
  message: string;
}

/** Sends and returns the failure; fails the test if the send unexpectedly succeeds. */
export async function sendExpectingFailure(send: () => Promise<unknown>): Promise<SmtpFailure> {
  try {
    await send();
  } catch (error) {
    return error as SmtpFailure;
  }
  throw new Error('expected the SMTP send to fail, but it was accepted');
}
