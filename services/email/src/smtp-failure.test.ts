import { describe, expect, it } from 'vitest';
import { classifySmtpError, MailDeliveryError } from './smtp-failure.js';

function nodemailerError(message: string, fields: Record<string, unknown>): Error {
  return Object.assign(new Error(message), fields);
}

describe('classifySmtpError', () => {
  it('treats 4xx replies as transient and keeps the reply', () => {
    const f = classifySmtpError(
      nodemailerError('Message failed: 451 4.3.0 try again later', {
        code: 'EMESSAGE',
        responseCode: 451,
        response: '451 4.3.0 try again later',
        command: 'DATA',
      }),
    );
    expect(f.retryable).toBe(true);
    expect(f.responseCode).toBe(451);
    expect(f.message).toBe('SMTP server deferred the message at DATA: 451 4.3.0 try again later');
  });

  it('treats 5xx replies as permanent, with the server reply for the dead letter', () => {
    const f = classifySmtpError(
      nodemailerError("Can't send mail - all recipients were rejected: 550 5.1.1 mailbox unavailable", {
        code: 'EENVELOPE',
        responseCode: 550,
        response: '550 5.1.1 mailbox unavailable',
        command: 'RCPT TO',
      }),
    );
    expect(f.retryable).toBe(false);
    expect(f.smtpResponse).toBe('550 5.1.1 mailbox unavailable');
    expect(f.message).toBe('SMTP server rejected the message at RCPT TO with 550');
    expect(
      classifySmtpError(
        nodemailerError('too big', { code: 'EMESSAGE', responseCode: 552, response: '552 5.3.4 too big' }),
      ).retryable,
    ).toBe(false);
  });

  it('retries 503 and 530 and authentication or TLS failures: they are about the session, not the message', () => {
    for (const fields of [
      { code: 'EPROTOCOL', responseCode: 503, response: '503 5.5.1 bad sequence' },
      { code: 'EENVELOPE', responseCode: 530, response: '530 5.7.0 Must issue a STARTTLS command first' },
      { code: 'EAUTH', responseCode: 535, response: '535 5.7.8 authentication failed' },
      { code: 'ETLS' },
    ]) {
      expect(classifySmtpError(nodemailerError('x', fields)).retryable, JSON.stringify(fields)).toBe(true);
    }
  });

  it('tells an unreachable server from one that answered: only no answer at all is an outage', () => {
    const deferred = classifySmtpError(
      nodemailerError('busy', { responseCode: 451, response: '451 4.3.0 try later' }),
    );
    expect(deferred).toMatchObject({ retryable: true, unreachable: false });
    const auth = classifySmtpError(nodemailerError('bad login', { code: 'EAUTH', responseCode: 535 }));
    expect(auth).toMatchObject({ retryable: true, unreachable: false });
    const rejected = classifySmtpError(
      nodemailerError('no such user', { responseCode: 550, response: '550 5.1.1 unknown' }),
    );
    expect(rejected).toMatchObject({ retryable: false, unreachable: false });
  });

  it('treats network failures as transient, whether nodemailer wrapped them or not', () => {
    const cases = [
      { code: 'ESOCKET', originalCode: 'ECONNREFUSED' },
      { code: 'ECONNECTION', originalCode: 'ECONNRESET' },
      { code: 'ETIMEDOUT', timeoutType: 'GREETING_TIMEOUT' },
      { code: 'EDNS', originalCode: 'EAI_AGAIN' },
      { code: 'ECONNRESET' },
    ];
    for (const fields of cases) {
      const f = classifySmtpError(nodemailerError('network', fields));
      expect(f.retryable, JSON.stringify(fields)).toBe(true);
      expect(f.unreachable, JSON.stringify(fields)).toBe(true);
    }
    expect(classifySmtpError(nodemailerError('x', cases[2] ?? {})).message).toContain('GREETING_TIMEOUT');
  });

  it('treats a message refused before it reached the server as permanent, and anything unknown as transient', () => {
    expect(classifySmtpError(nodemailerError('No recipients defined', { code: 'EENVELOPE' })).retryable).toBe(
      false,
    );
    expect(classifySmtpError(new Error('something odd')).retryable).toBe(true);
    expect(classifySmtpError('a string').retryable).toBe(true);
  });

  it('passes an already classified error through unchanged', () => {
    const f = new MailDeliveryError('done', { retryable: false });
    expect(classifySmtpError(f)).toBe(f);
  });
});
