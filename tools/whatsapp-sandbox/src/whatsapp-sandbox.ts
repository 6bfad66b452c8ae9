import type { AddressInfo } from 'node:net';
import { assertNotProduction } from '@notify/stand-in-kit';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { buildHttpApp } from './http-app.js';
import { MessageStore } from './message-store.js';
import type { MessagePredicate } from './message-store.js';
import { SandboxBehaviourState } from './sandbox-behaviour.js';
import type { ResolvedSandboxBehaviour, SandboxBehaviour } from './sandbox-behaviour.js';
import type { SandboxMessage } from './sandbox-message.js';
import { StatusCallbackDispatcher } from './status-callbacks.js';

/** Obviously fake, so nobody mistakes a sandbox configuration for a real account. */
export const DEV_ACCOUNT_SID = 'AC00000000000000000000000000000000';
export const DEV_AUTH_TOKEN = 'sandbox-dev-auth-token-not-secret';
export const DEFAULT_MAX_MESSAGES = 1000;

export interface WhatsappSandboxOptions {
  /** Defaults to 127.0.0.1. */
  host?: string;
  /** Defaults to 0, an ephemeral port, so parallel tests never collide. */
  port?: number;
  /** The only account SID accepted; defaults to DEV_ACCOUNT_SID. */
  accountSid?: string;
  /** The auth token clients must send and callbacks are signed with; defaults to DEV_AUTH_TOKEN. */
  authToken?: string;
  /** Defaults to a silent logger. */
  logger?: Logger;
  /** How many messages are kept; older ones are dropped. Defaults to 1000. */
  maxMessages?: number;
}

export interface WhatsappSandbox {
  readonly port: number;
  /** Base URL to send Twilio API requests to, for example http://127.0.0.1:8026. */
  readonly url: string;
  readonly accountSid: string;
  readonly authToken: string;
  /** Every held message with its status history and callback attempts, oldest first. */
  messages(): SandboxMessage[];
  /**
   * Resolves with the first message that matches, now or after any later change (a new
   * message, a status change, a callback result); rejects after timeoutMs (default 10 s).
   */
  waitFor(predicate: MessagePredicate, timeoutMs?: number): Promise<SandboxMessage>;
  /** Create-message requests received, including refused and failed ones. */
  attempts(): number;
  /** Forgets every message, stops their pending callbacks and resets attempts(). Behaviour stays. */
  clear(): void;
  /** Replaces the whole behaviour; fields left out go back to their defaults. */
  setBehaviour(behaviour: SandboxBehaviour): void;
  behaviour(): ResolvedSandboxBehaviour;
  close(): Promise<void>;
}

const ACCOUNT_SID_PATTERN = /^AC[0-9a-fA-F]{32}$/;

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

export async function startWhatsappSandbox(options: WhatsappSandboxOptions = {}): Promise<WhatsappSandbox> {
  assertNotProduction('whatsapp-sandbox');
  const accountSid = options.accountSid ?? DEV_ACCOUNT_SID;
  const authToken = options.authToken ?? DEV_AUTH_TOKEN;
  if (!ACCOUNT_SID_PATTERN.test(accountSid)) {
    throw new Error(`accountSid must be "AC" followed by 32 hex digits, got "${accountSid}"`);
  }
  if (authToken === '') throw new Error('authToken must not be empty');

  const host = options.host ?? '127.0.0.1';
  const logger = options.logger ?? pino({ level: 'silent' });
  const store = new MessageStore(options.maxMessages ?? DEFAULT_MAX_MESSAGES);
  const behaviour = new SandboxBehaviourState();
  const callbacks = new StatusCallbackDispatcher({ store, authToken, logger });
  const shutdown = new AbortController();
  let attemptCount = 0;

  const clear = () => {
    // Lifecycles of cleared messages find nothing to update and end by themselves.
    store.clear();
    attemptCount = 0;
  };

  const app = buildHttpApp({
    store,
    behaviour,
    callbacks,
    credentials: { username: accountSid, password: authToken },
    onAttempt: () => {
      attemptCount += 1;
    },
    attempts: () => attemptCount,
    clear,
    logger,
    signal: shutdown.signal,
  });

  try {
    await app.listen({ port: options.port ?? 0, host });
  } catch (error) {
    shutdown.abort();
    await app.close();
    throw error;
  }
  const port = (app.server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;

  return {
    port,
    url: `http://${urlHost(host)}:${port}`,
    accountSid,
    authToken,
    messages: () => store.list(),
    waitFor: (predicate, timeoutMs) => store.waitFor(predicate, timeoutMs),
    attempts: () => attemptCount,
    clear,
    setBehaviour: (next) => behaviour.set(next),
    behaviour: () => behaviour.get(),
    close: () => {
      closing ??= (async () => {
        shutdown.abort();
        await callbacks.close();
        store.close('whatsapp sandbox closed');
        await app.close();
      })();
      return closing;
    },
  };
}
