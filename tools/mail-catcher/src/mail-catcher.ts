import type { AddressInfo } from 'node:net';
import { assertNotProduction, StandInState, urlHost } from '@notify/stand-in-kit';
import type { StandInControls, StandInOptions } from '@notify/stand-in-kit';
import { pino } from 'pino';
import type { SMTPServer } from 'smtp-server';
import { buildHttpApp } from './http-app.js';
import { MailBehaviourState } from './mail-behaviour.js';
import type { MailBehaviour, ResolvedMailBehaviour } from './mail-behaviour.js';
import { MailStore } from './mail-store.js';
import type { ReceivedMail } from './received-mail.js';
import { createSmtpReceiver } from './smtp-receiver.js';

/** `host` is the interface for both listeners. */
export interface MailCatcherOptions extends StandInOptions {
  /** Defaults to 0, an ephemeral port, so parallel tests never collide. */
  smtpPort?: number;
  /** Defaults to 0, an ephemeral port. */
  httpPort?: number;
  /** SMTP SIZE limit in bytes. Defaults to 10 MiB. */
  maxMessageBytes?: number;
}

/**
 * A running mail catcher. attempts() counts mail transactions begun (MAIL FROM), including
 * those whose recipients were rejected and those that failed at DATA.
 */
export interface MailCatcher extends StandInControls<ReceivedMail, MailBehaviour, ResolvedMailBehaviour> {
  readonly smtpPort: number;
  readonly httpPort: number;
  /** For example smtp://127.0.0.1:1025, usable as SMTP_URL or as a nodemailer transport. */
  readonly smtpUrl: string;
  readonly httpUrl: string;
}

export const DEFAULT_MAX_MESSAGES = 1000;
export const DEFAULT_MAX_MESSAGE_BYTES = 10 * 1024 * 1024;

function listenSmtp(server: SMTPServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.server.once('error', onError);
    server.listen(port, host, () => {
      server.server.off('error', onError);
      resolve((server.server.address() as AddressInfo).port);
    });
  });
}

function closeSmtp(server: SMTPServer): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

export async function startMailCatcher(options: MailCatcherOptions = {}): Promise<MailCatcher> {
  assertNotProduction('mail-catcher');
  const host = options.host ?? '127.0.0.1';
  const logger = options.logger ?? pino({ level: 'silent' });
  const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const store = new MailStore(options.maxMessages ?? DEFAULT_MAX_MESSAGES);
  const behaviour = new MailBehaviourState();
  const state = new StandInState(store, behaviour);
  const shutdown = new AbortController();

  const smtpServer = createSmtpReceiver({
    store,
    behaviour,
    logger,
    maxMessageBytes,
    onAttempt: () => state.countAttempt(),
    signal: shutdown.signal,
  });
  const app = buildHttpApp({ store, controls: state, logger });

  let smtpPort: number;
  let httpPort: number;
  try {
    smtpPort = await listenSmtp(smtpServer, options.smtpPort ?? 0, host);
    await app.listen({ port: options.httpPort ?? 0, host });
    httpPort = (app.server.address() as AddressInfo).port;
  } catch (error) {
    shutdown.abort();
    await Promise.allSettled([closeSmtp(smtpServer), app.close()]);
    throw error;
  }

  const displayHost = urlHost(host);
  return {
    smtpPort,
    httpPort,
    smtpUrl: `smtp://${displayHost}:${smtpPort}`,
    httpUrl: `http://${displayHost}:${httpPort}`,
    ...state.controls(async () => {
      shutdown.abort();
      store.close('mail catcher closed');
      await Promise.all([closeSmtp(smtpServer), app.close()]);
    }),
  };
}
