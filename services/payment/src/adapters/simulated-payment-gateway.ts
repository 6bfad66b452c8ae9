import { createHash, randomBytes } from 'node:crypto';
import type { CurrencyCode } from '@notify/contracts';
import { GatewayRequestError, GatewayTimeoutError, GatewayTransientError } from '../payment-gateway.js';
import type { AuthorizationRequest, AuthorizationResult, PaymentGateway } from '../payment-gateway.js';

/**
 * A SIMULATION of a card processor, for development, tests and demos. It charges
 * nothing and talks to no bank. It behaves like a real processor where the payment
 * service can tell the difference:
 *
 * - outcomes are chosen by test token, deterministically:
 *   `tok_decline` -> declined `card_declined`; `tok_insufficient_funds` -> declined
 *   `insufficient_funds`; `tok_gateway_error` -> transient server error on every call;
 *   `tok_timeout` -> never answers (the caller's deadline fires); `tok_flaky` -> transient
 *   error on the first `flakyFailures` calls for a key, then approved; any other token
 *   (e.g. `tok_approve`) -> authorised;
 * - every call takes `latencyMs` before it is answered;
 * - idempotency by key: the first decided result for a key is kept in a ledger, and
 *   every later call with the key returns it without a second charge. The ledger is a
 *   database table, so this holds across restarts as it would at a real processor.
 *   A key reused with a different amount, currency or token is refused.
 */
export class SimulatedPaymentGateway implements PaymentGateway {
  readonly name = 'simulated-card-processor';
  private readonly latencyMs: number;
  private readonly flakyFailures: number;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly now: () => Date;

  constructor(
    private readonly ledger: SimulatorLedgerRepository,
    options: {
      latencyMs?: number;
      flakyFailures?: number;
      sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
      now?: () => Date;
    } = {},
  ) {
    this.latencyMs = options.latencyMs ?? 0;
    this.flakyFailures = options.flakyFailures ?? 2;
    this.sleep = options.sleep ?? abortableSleep;
    this.now = options.now ?? (() => new Date());
  }

  async authorize(
    request: AuthorizationRequest,
    options: { signal?: AbortSignal } = {},
  ): Promise<AuthorizationResult> {
    const { signal } = options;
    if (this.latencyMs > 0) await this.sleep(this.latencyMs, signal);
    const params = {
      amount: request.amount,
      currency: request.currency,
      tokenFingerprint: fingerprint(request.token),
    };
    const entry = await this.ledger
      .recordCall(request.idempotencyKey, params, this.now())
      .catch((err: unknown) => processorFault(err));
    if (
      entry.amount !== params.amount ||
      entry.currency !== params.currency ||
      entry.tokenFingerprint !== params.tokenFingerprint
    ) {
      throw new GatewayRequestError(
        'idempotency key was already used with a different amount, currency or payment method',
        'idempotency_key_reused',
      );
    }
    if (entry.result) return entry.result;

    let result: AuthorizationResult;
    switch (request.token) {
      case 'tok_gateway_error':
        throw new GatewayTransientError('simulated processor answered 503 Service Unavailable');
      case 'tok_timeout':
        await waitForAbort(signal);
        throw new GatewayTimeoutError('simulated processor did not answer before the caller gave up');
      case 'tok_flaky':
        if (entry.calls <= this.flakyFailures) {
          throw new GatewayTransientError(
            `simulated processor answered 502 Bad Gateway (call ${entry.calls} of ${this.flakyFailures} failing)`,
          );
        }
        result = authorized();
        break;
      case 'tok_decline':
        result = {
          status: 'declined',
          code: 'card_declined',
          reason: 'The card was declined by the issuer.',
        };
        break;
      case 'tok_insufficient_funds':
        result = {
          status: 'declined',
          code: 'insufficient_funds',
          reason: 'The card has insufficient funds.',
        };
        break;
      default:
        result = authorized();
    }
    // Two concurrent calls with one key may both get here; the ledger keeps the first.
    return this.ledger
      .settle(request.idempotencyKey, result, this.now())
      .catch((err: unknown) => processorFault(err));
  }
}

export interface LedgerEntry {
  readonly idempotencyKey: string;
  readonly amount: number;
  readonly currency: CurrencyCode;
  /** SHA-256 of the token: enough to recognise a reused key, nothing to leak. */
  readonly tokenFingerprint: string;
  /** Calls made with this key so far, this one included. */
  readonly calls: number;
  readonly result: AuthorizationResult | undefined;
}

/** The simulated processor's own records, kept apart from the payment service's tables. */
export interface SimulatorLedgerRepository {
  /** Counts a call for the key, creating the entry with these parameters on first use. */
  recordCall(
    key: string,
    params: { amount: number; currency: CurrencyCode; tokenFingerprint: string },
    at: Date,
  ): Promise<LedgerEntry>;
  /** Stores the key's result unless one is stored already; returns the stored result. */
  settle(key: string, result: AuthorizationResult, at: Date): Promise<AuthorizationResult>;
}

/** Trouble inside the processor reaches its clients as a server error, which is transient. */
function processorFault(err: unknown): never {
  throw new GatewayTransientError('simulated processor answered 500 Internal Server Error', { cause: err });
}

function authorized(): AuthorizationResult {
  return { status: 'authorized', authorizationId: `simauth_${randomBytes(12).toString('hex')}` };
}

function fingerprint(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** A simulated hang: never answers, until the caller gives up (or a minute passes). */
function waitForAbort(signal: AbortSignal | undefined): Promise<void> {
  return abortableSleep(60_000, signal).catch(() => undefined);
}

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
