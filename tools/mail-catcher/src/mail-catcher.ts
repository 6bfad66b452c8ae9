import type { AddressInfo } from 'node:net';
import { assertNotProduction } from '@notify/stand-in-kit';
import { pino } from 'pino';
import type { Logger } from 'pino';
import type { SMTPServer } from 'smtp-server';
import { buildHttpApp } from './http-app.js';
import { MailBehaviourState } from './mail-behaviour.js';
import type { MailBehaviour, ResolvedMailBehaviour } from './mail-behaviour.js';
import { MailStore } from './mail-store.js';
import type { MailPredicate } from './mail-store.js';
import type { ReceivedMail } from './received-mail.js';
import { createSmtpReceiver } from './smtp-receiver.js';

export interface MailCatcherOptions {
  /** Interface for both listeners. Defaults to 127.0.0.1: nothing outside the machine should reach it. */
  host?: string;
  /** Defaults to 0, an ephemeral port, so parallel tests never collide. */
  smtpPort?: number;
  /** Defaults to 0, an ephemeral port. */
  httpPort?: number;
  /** Defaults to a silent logger. */
  logger?: Logger;
  /** How many messages are kept; older ones are dropped. Defaults to 1000. */
  maxMessages?: number;
  /** SMTP SIZE limit in bytes. Defaults to 10 MiB. */
  maxMessageBytes?: number;
}

export interface MailCatcher {
  readonly smtpPort: number;
  readonly httpPort: number;
  /** For example smtp://127.0.0.1:1025, usable as SMTP_URL or as a nodemailer transport. */
  readonly smtpUrl: string;
  readonly httpUrl: string;
  /** Every held message, oldest first. */
  messages(): ReceivedMail[];
  /** Resolves with the first held or arriving message that matches; rejects after timeoutMs (default 10 s). */
  waitFor(predicate: MailPredicate, timeoutMs?: number): Promise<ReceivedMail>;
  /** Mail transactions begun (MAIL FROM), including those later rejected or failed. */
  attempts(): number;
  /** Forgets every held message and resets the attempt counter. Behaviour stays as set. */
  clear(): void;
  /** Replaces the whole behaviour; fields left out go back to their defaults. */
  setBehaviour(behaviour: MailBehaviour): void;
  behaviour(): ResolvedMailBehaviour;
  close(): Promise<void>;
}

export const DEFAULT_MAX_MESSAGES = 1000;
export const DEFAULT_MAX_MESSAGE_BYTES = 10 * 1024 * 1024;

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

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
  const shutdown = new AbortController();
  let attemptCount = 0;

  const clear = () => {
    store.clear();
    attemptCount = 0;
  };

  const smtpServer = createSmtpReceiver({
    store,
    behaviour,
    logger,
    maxMessageBytes,
    onAttempt: () => {
      attemptCount += 1;
    },
    signal: shutdown.signal,
  });
  const app = buildHttpApp({ store, behaviour, attempts: () => attemptCount, clear, logger });

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
  let closing: Promise<void> | undefined;

  return {
    smtpPort,
    httpPort,
    smtpUrl: `smtp://${displayHost}:${smtpPort}`,
    httpUrl: `http://${displayHost}:${httpPort}`,
    messages: () => store.list(),
    waitFor: (predicate, timeoutMs) => store.waitFor(predicate, timeoutMs),
    attempts: () => attemptCount,
    clear,
    setBehaviour: (next) => behaviour.set(next),
    behaviour: () => behaviour.get(),
    close: () => {
      closing ??= (async () => {
        shutdown.abort();
        store.close('mail catcher closed');
        await Promise.all([closeSmtp(smtpServer), app.close()]);
      })();
      return closing;
    },
  };
}
