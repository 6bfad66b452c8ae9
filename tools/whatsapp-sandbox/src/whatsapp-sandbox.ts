import type { AddressInfo } from 'node:net';
import { assertNotProduction, StandInState, urlHost } from '@notify/stand-in-kit';
import type { StandInControls, StandInOptions } from '@notify/stand-in-kit';
import { pino } from 'pino';
import { buildHttpApp } from './http-app.js';
import { MessageStore } from './message-store.js';
import { SandboxBehaviourState } from './sandbox-behaviour.js';
import type { ResolvedSandboxBehaviour, SandboxBehaviour } from './sandbox-behaviour.js';
import type { SandboxMessage } from './sandbox-message.js';
import { StatusCallbackDispatcher } from './status-callbacks.js';

/** Obviously fake, so nobody mistakes a sandbox configuration for a real account. */
export const DEV_ACCOUNT_SID = 'AC00000000000000000000000000000000';
export const DEV_AUTH_TOKEN = 'sandbox-dev-auth-token-not-secret';
export const DEFAULT_MAX_MESSAGES = 1000;

export interface WhatsappSandboxOptions extends StandInOptions {
  /** Defaults to 0, an ephemeral port, so parallel tests never collide. */
  port?: number;
  /** The only account SID accepted; defaults to DEV_ACCOUNT_SID. */
  accountSid?: string;
  /** The auth token clients must send and callbacks are signed with; defaults to DEV_AUTH_TOKEN. */
  authToken?: string;
}

/**
 * A running sandbox. Its messages carry their status history and callback attempts, and
 * waitFor also matches on their later changes (a status change, a callback result).
 * attempts() counts create-message requests, including refused and failed ones. clear()
 * also stops the pending callbacks of the messages it forgets; close() stops all of them.
 */
export interface WhatsappSandbox extends StandInControls<
  SandboxMessage,
  SandboxBehaviour,
  ResolvedSandboxBehaviour
> {
  readonly port: number;
  /** Base URL to send Twilio API requests to, for example http://127.0.0.1:8026. */
  readonly url: string;
  readonly accountSid: string;
  readonly authToken: string;
}

const ACCOUNT_SID_PATTERN = /^AC[0-9a-fA-F]{32}$/;

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
  // Lifecycles of messages that clear() forgets find nothing to update and end by themselves.
  const state = new StandInState(store, behaviour);
  const callbacks = new StatusCallbackDispatcher({ store, authToken, logger });
  const shutdown = new AbortController();

  const app = buildHttpApp({
    store,
    behaviour,
    callbacks,
    credentials: { username: accountSid, password: authToken },
    onAttempt: () => state.countAttempt(),
    controls: state,
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

  return {
    port,
    url: `http://${urlHost(host)}:${port}`,
    accountSid,
    authToken,
    ...state.controls(async () => {
      shutdown.abort();
      await callbacks.close();
      store.close('whatsapp sandbox closed');
      await app.close();
    }),
  };
}
