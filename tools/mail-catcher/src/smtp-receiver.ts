import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { simpleParser } from 'mailparser';
import type { Logger } from 'pino';
import { SMTPServer } from 'smtp-server';
import type { SMTPServerDataStream, SMTPServerError, SMTPServerSession } from 'smtp-server';
import type { MailBehaviourState } from './mail-behaviour.js';
import type { MailStore } from './mail-store.js';
import { toReceivedMail } from './received-mail.js';

export interface SmtpReceiverDeps {
  store: MailStore;
  behaviour: MailBehaviourState;
  logger: Logger;
  maxMessageBytes: number;
  /** Called once per mail transaction (MAIL FROM), whatever becomes of it. */
  onAttempt: () => void;
  /** Aborted on close so a configured delay does not hold shutdown hostage. */
  signal: AbortSignal;
}

function smtpError(responseCode: number, message: string): SMTPServerError {
  const error: SMTPServerError = new Error(message);
  error.responseCode = responseCode;
  return error;
}

/** Reads and discards the rest of a DATA stream; smtp-server needs it consumed before answering. */
function drain(stream: SMTPServerDataStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.readableEnded) {
      resolve();
      return;
    }
    stream.once('end', () => resolve());
    stream.once('error', () => resolve());
    stream.resume();
  });
}

/**
 * smtp-server logs every connection at info level; for a local stand-in that is noise, so
 * its chatter goes to debug and only its warnings and errors keep their level.
 */
function smtpLogger(logger: Logger) {
  const log = logger.child({ component: 'smtp-server' });
  const debug = (obj?: unknown, msg?: string, ...args: unknown[]) => log.debug(obj, msg, ...args);
  return {
    trace: debug,
    debug,
    info: debug,
    warn: (obj?: unknown, msg?: string, ...args: unknown[]) => log.warn(obj, msg, ...args),
    error: (obj?: unknown, msg?: string, ...args: unknown[]) => log.error(obj, msg, ...args),
    fatal: (obj?: unknown, msg?: string, ...args: unknown[]) => log.error(obj, msg, ...args),
  };
}

export function createSmtpReceiver(deps: SmtpReceiverDeps): SMTPServer {
  const { store, behaviour, logger, maxMessageBytes, onAttempt, signal } = deps;

  async function waitConfiguredDelay(): Promise<void> {
    const ms = behaviour.delayMs();
    if (ms > 0) await delay(ms, undefined, { signal });
  }

  async function receive(stream: SMTPServerDataStream, session: SMTPServerSession): Promise<string> {
    if (behaviour.takeTransientFailure()) {
      await drain(stream);
      await waitConfiguredDelay();
      throw smtpError(451, '4.3.0 try again later');
    }

    let parsed;
    try {
      parsed = await simpleParser(stream);
    } catch (error) {
      await drain(stream);
      logger.warn({ err: error }, 'could not parse a received message');
      throw smtpError(451, '4.3.0 could not parse the message');
    }
    await drain(stream);
    if (stream.sizeExceeded) {
      throw smtpError(552, `5.3.4 message exceeds fixed maximum message size of ${maxMessageBytes} bytes`);
    }

    await waitConfiguredDelay();
    const envelope = session.envelope;
    const mail = toReceivedMail(parsed, {
      id: randomUUID(),
      receivedAt: new Date(),
      envelope: {
        from: envelope.mailFrom ? envelope.mailFrom.address : null,
        to: envelope.rcptTo.map((recipient) => recipient.address),
      },
      size: stream.byteLength,
    });
    store.add(mail);
    logger.info(
      { mailId: mail.id, messageId: mail.messageId, to: mail.envelope.to, subject: mail.subject },
      'mail received',
    );
    return `2.0.0 OK: queued as ${mail.id}`;
  }

  const server = new SMTPServer({
    name: 'mail-catcher',
    banner: 'mail-catcher development SMTP server',
    size: maxMessageBytes,
    authOptional: true,
    // Clients configured with credentials (as production ones are) must still get through.
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    hideSTARTTLS: true,
    closeTimeout: 1000,
    // A local stand-in has no use for the client's host name; the lookup would cost a DNS
    // round trip (up to 1.5 s where no resolver answers) before every greeting.
    disableReverseLookup: true,
    logger: smtpLogger(logger),
    onAuth(auth, _session, callback) {
      callback(null, { user: auth.username ?? 'anonymous' });
    },
    onMailFrom(_address, _session, callback) {
      onAttempt();
      callback();
    },
    onRcptTo(address, _session, callback) {
      if (behaviour.isRejected(address.address)) {
        callback(smtpError(550, '5.1.1 mailbox unavailable'));
        return;
      }
      callback();
    },
    onData(stream, session, callback) {
      receive(stream, session).then(
        (message) => callback(null, message),
        (error: unknown) => {
          if (signal.aborted) {
            callback(smtpError(421, '4.3.2 mail catcher is shutting down'));
            return;
          }
          if (error instanceof Error && 'responseCode' in error) {
            callback(error);
            return;
          }
          logger.error({ err: error }, 'failed to handle a received message');
          callback(smtpError(451, '4.3.0 local error in processing'));
        },
      );
    },
  });

  // smtp-server emits 'error' for failures of single client sockets too; unhandled it would crash the process.
  server.on('error', (error) => logger.warn({ err: error }, 'smtp server error'));
  return server;
}
