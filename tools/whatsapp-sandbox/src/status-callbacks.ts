import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { MessageStore } from './message-store.js';
import { FAILURE_STATUSES } from './sandbox-behaviour.js';
import type { ResolvedSandboxBehaviour } from './sandbox-behaviour.js';
import { API_VERSION } from './sandbox-message.js';
import type { SandboxMessage } from './sandbox-message.js';
import { computeTwilioSignature } from './twilio-signature.js';

export interface StatusCallbackDeps {
  store: MessageStore;
  authToken: string;
  logger: Logger;
  /** How long one callback POST may take before it counts as failed. */
  requestTimeoutMs?: number;
}

const RETRY_BASE_MS = 100;
const RETRY_MAX_MS = 2000;

/** Doubling backoff between tries of one callback, capped so a test never waits long. */
export function callbackRetryDelayMs(failedAttempt: number): number {
  return Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (failedAttempt - 1));
}

/** fetch reports every network failure as "fetch failed"; the cause says which. */
function describeFetchError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause: unknown = error.cause;
  if (cause instanceof Error) {
    const code = (cause as NodeJS.ErrnoException).code;
    return `${error.message}: ${code ? `${code} ` : ''}${cause.message}`;
  }
  return error.message;
}

/** The form fields Twilio posts to a WhatsApp message's StatusCallback. */
export function statusCallbackParams(
  message: SandboxMessage,
  status: string,
  errorCode: number | null,
): Record<string, string> {
  const params: Record<string, string> = {
    AccountSid: message.accountSid,
    ApiVersion: API_VERSION,
    ChannelPrefix: 'whatsapp',
    From: message.from,
    MessageSid: message.sid,
    MessageStatus: status,
    SmsSid: message.sid,
    SmsStatus: status,
    To: message.to,
  };
  if (errorCode !== null) params.ErrorCode = String(errorCode);
  return params;
}

/**
 * Moves accepted messages through their statuses and POSTs a signed callback for each, one
 * status after the other, so a receiver sees them in order. Each message runs with the
 * behaviour in force when it was accepted.
 */
export class StatusCallbackDispatcher {
  private readonly shutdown = new AbortController();
  private readonly running = new Set<Promise<void>>();
  private readonly requestTimeoutMs: number;

  constructor(private readonly deps: StatusCallbackDeps) {
    this.requestTimeoutMs = deps.requestTimeoutMs ?? 10_000;
  }

  start(message: SandboxMessage, behaviour: ResolvedSandboxBehaviour): void {
    const run = this.advance(message.sid, behaviour).catch((error: unknown) => {
      if (!this.shutdown.signal.aborted) {
        this.deps.logger.error({ err: error, messageSid: message.sid }, 'status lifecycle failed');
      }
    });
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
  }

  /** Stops every lifecycle and in-flight callback, then waits until they have all let go. */
  async close(): Promise<void> {
    this.shutdown.abort();
    await Promise.allSettled([...this.running]);
  }

  private async advance(sid: string, behaviour: ResolvedSandboxBehaviour): Promise<void> {
    const signal = this.shutdown.signal;
    for (const status of behaviour.callbackStatuses) {
      await delay(behaviour.callbackDelayMs, undefined, { signal });
      const errorCode = FAILURE_STATUSES.has(status) ? behaviour.callbackErrorCode : null;
      const now = new Date().toISOString();
      const message = this.deps.store.update(sid, (held) => {
        held.status = status;
        held.dateUpdated = now;
        held.statusHistory.push({ status, at: now });
        if (errorCode !== null) held.errorCode = errorCode;
      });
      // Cleared while in flight: nobody is looking any more.
      if (!message) return;
      if (behaviour.callbacks && message.statusCallback) {
        await this.deliver(message, message.statusCallback, status, errorCode, behaviour.callbackRetries);
      }
    }
  }

  private async deliver(
    message: SandboxMessage,
    url: string,
    status: string,
    errorCode: number | null,
    retries: number,
  ): Promise<void> {
    const signal = this.shutdown.signal;
    const params = statusCallbackParams(message, status, errorCode);
    const signature = computeTwilioSignature(this.deps.authToken, url, params);
    // One token per status, kept across retries, as Twilio does, so receivers can deduplicate.
    const idempotencyToken = randomUUID();
    const log = this.deps.logger.child({ messageSid: message.sid, status });

    for (let attempt = 1; attempt <= retries + 1; attempt += 1) {
      let httpStatus: number | null = null;
      let error: string | null = null;
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
            'user-agent': 'TwilioProxy/1.1',
            'x-twilio-signature': signature,
            'i-twilio-idempotency-token': idempotencyToken,
          },
          body: new URLSearchParams(params).toString(),
          signal: AbortSignal.any([signal, AbortSignal.timeout(this.requestTimeoutMs)]),
          redirect: 'manual',
        });
        httpStatus = response.status;
        // Drain so the connection can be reused; the content does not matter.
        await response.arrayBuffer();
        if (!response.ok) error = `receiver answered ${response.status}`;
      } catch (caught) {
        if (signal.aborted) throw caught;
        error = describeFetchError(caught);
      }

      const ok = error === null;
      this.deps.store.update(message.sid, (held) => {
        held.callbacks.push({
          status,
          attempt,
          url,
          httpStatus,
          error,
          at: new Date().toISOString(),
          params,
          signature,
        });
      });
      if (ok) {
        log.debug({ attempt, httpStatus }, 'status callback delivered');
        return;
      }
      log.warn({ attempt, httpStatus, error }, 'status callback failed');
      if (attempt <= retries) await delay(callbackRetryDelayMs(attempt), undefined, { signal });
    }
  }
}
