import type { CurrencyCode, PaymentMessage } from '@notify/contracts';
import type { DeliveryMeta, TraceMeta } from '@notify/service-kit';
import { GatewayRequestError, GatewayTimeoutError } from './payment-gateway.js';
import type { AuthorizationResult, PaymentGateway } from './payment-gateway.js';

export type Payment =
  | (PaymentBase & { readonly status: 'authorized'; readonly authorizationId: string })
  | (PaymentBase & {
      readonly status: 'declined';
      readonly declineCode: string;
      readonly declineReason: string;
    });

interface PaymentBase {
  readonly orderId: string;
  readonly amount: number;
  readonly currency: CurrencyCode;
  readonly gateway: string;
  /** Gateway calls it took, this one included. */
  readonly attempts: number;
  readonly messageId: string;
  readonly decidedAt: Date;
}

export interface AttemptRef {
  readonly id: string;
  readonly attemptNo: number;
}

/** A gateway call about to be made, as its attempt row records it. */
export interface AttemptStart {
  readonly orderId: string;
  readonly messageId: string;
  readonly deliveryAttempt: number;
  readonly redelivered: boolean;
  readonly gateway: string;
  readonly startedAt: Date;
}

/** A gateway call that ended, as its attempt row records it. */
export type FinishedAttempt =
  | { readonly attempt: AttemptRef; readonly failure: AttemptFailure }
  | { readonly attempt: AttemptRef; readonly payment: Payment; readonly latencyMs: number };

export interface AttemptFailure {
  readonly error: string;
  readonly transient: boolean;
  readonly latencyMs: number;
  readonly finishedAt: Date;
}

export interface PaymentRepository {
  findByOrderId(orderId: string): Promise<Payment | undefined>;
  /** The decided payments of these orders, by order id, in one query. */
  findByOrderIds(orderIds: readonly string[]): Promise<ReadonlyMap<string, Payment>>;
  /** Records that a gateway call is about to be made (outcome pending). */
  startAttempt(attempt: AttemptStart): Promise<AttemptRef>;
  /** startAttempt for many calls in one statement, in order (two of one order numbered in turn). */
  startAttempts(attempts: readonly AttemptStart[]): Promise<readonly AttemptRef[]>;
  /**
   * recordFailure and recordResult for many calls in one transaction: one result per
   * item, the stored payment of a decided one (the first stored for its order), undefined
   * for a failure.
   */
  finishAll(items: readonly FinishedAttempt[]): Promise<readonly (Payment | undefined)[]>;
  recordFailure(attempt: AttemptRef, failure: AttemptFailure): Promise<void>;
  /**
   * Completes the attempt and stores the payment in one transaction. If a payment for
   * the order is stored already (a concurrent delivery), returns that one.
   */
  recordResult(attempt: AttemptRef, payment: Payment, latencyMs: number): Promise<Payment>;
}

export interface PaymentEvents {
  /** Publishes `payment.authorized` or `payment.declined`; resolves once the broker confirmed. */
  paymentDecided(payment: Payment, trace: TraceMeta): Promise<void>;
}

export interface AuthorizePaymentDeps {
  readonly gateway: PaymentGateway;
  readonly repository: PaymentRepository;
  readonly events: PaymentEvents;
  /** How long to wait for the gateway before treating the call as timed out. */
  readonly gatewayTimeoutMs: number;
  readonly now: () => Date;
}

export type PaymentOutcome =
  | { readonly kind: 'authorized' | 'declined' | 'duplicate'; readonly payment: Payment }
  | {
      readonly kind: 'gateway-error';
      readonly transient: boolean;
      readonly error: string;
      readonly code?: string;
    };

/**
 * Authorises an order's amount once. The order id is the gateway's idempotency key, so
 * a call repeated after a crash (the gateway answered, the result was never stored)
 * gets the processor's first answer back instead of a second charge. A payment already
 * decided is announced again and the gateway is not called. Declines are outcomes;
 * gateway trouble is returned for fate.ts to retry or give up on.
 */
export async function authorizePayment(
  message: PaymentMessage,
  meta: DeliveryMeta,
  deps: AuthorizePaymentDeps,
): Promise<PaymentOutcome> {
  return logOutcome(await authorizeOnce(message, meta, deps), meta);
}

function logOutcome(outcome: PaymentOutcome, meta: DeliveryMeta): PaymentOutcome {
  const log = meta.logger;
  switch (outcome.kind) {
    case 'gateway-error':
      log?.warn({ err: outcome.error, transient: outcome.transient }, 'payment gateway call failed');
      break;
    case 'duplicate':
      log?.info({ status: outcome.payment.status }, 'payment already decided; outcome re-published');
      break;
    case 'authorized':
    case 'declined': {
      const p = outcome.payment;
      log?.info(
        p.status === 'authorized' ? { authorizationId: p.authorizationId } : { code: p.declineCode },
        `payment ${p.status}`,
      );
      break;
    }
  }
  return outcome;
}

async function authorizeOnce(
  message: PaymentMessage,
  meta: DeliveryMeta,
  deps: AuthorizePaymentDeps,
): Promise<PaymentOutcome> {
  const { repository, events } = deps;
  const stored = await repository.findByOrderId(message.orderId);
  if (stored) {
    await events.paymentDecided(stored, meta);
    return { kind: 'duplicate', payment: stored };
  }
  const attempt = await repository.startAttempt(attemptStart(message, meta, deps));
  const call = await callGateway(message, meta, attempt, deps);
  if ('failure' in call) {
    await repository.recordFailure(attempt, call.failure);
    return call.outcome;
  }
  const payment = await repository.recordResult(attempt, call.payment, call.latencyMs);
  await events.paymentDecided(payment, meta);
  return { kind: payment.status, payment };
}

/** One message of a window and its delivery. */
export interface PaymentRequest {
  readonly message: PaymentMessage;
  readonly meta: DeliveryMeta;
}

/**
 * authorizePayment for a window, with the same story per order: the decided payments
 * are read in one query, the new calls' attempt rows written in one statement, the
 * gateway called for each order at once (its idempotency key is still the order id), every
 * call's end recorded in one transaction, then every decision announced at once. Each
 * message's result is its own: a gateway failure or an unconfirmed event concerns its
 * message only; a database failure rejects the window (a call already made is then made
 * again alone, with the same key, and answered by the processor's first answer).
 */
export async function authorizePayments(
  requests: readonly PaymentRequest[],
  deps: AuthorizePaymentDeps,
): Promise<PromiseSettledResult<PaymentOutcome>[]> {
  const { repository, events } = deps;
  const stored = await repository.findByOrderIds(requests.map((r) => r.message.orderId));
  const fresh = requests.flatMap((r, i) => (stored.has(r.message.orderId) ? [] : [i]));
  const attempts = await repository.startAttempts(
    fresh.map((i) => attemptStart(requests[i]!.message, requests[i]!.meta, deps)),
  );
  const calls = await Promise.all(
    fresh.map((i, k) => callGateway(requests[i]!.message, requests[i]!.meta, attempts[k]!, deps)),
  );
  const recorded = await repository.finishAll(
    calls.map((call, k) =>
      'failure' in call
        ? { attempt: attempts[k]!, failure: call.failure }
        : { attempt: attempts[k]!, payment: call.payment, latencyMs: call.latencyMs },
    ),
  );
  const byRequest = new Map(fresh.map((i, k) => [i, { call: calls[k]!, payment: recorded[k] }]));
  return Promise.allSettled(
    requests.map(async (r, i): Promise<PaymentOutcome> => {
      const earlier = stored.get(r.message.orderId);
      if (earlier) {
        await events.paymentDecided(earlier, r.meta);
        return logOutcome({ kind: 'duplicate', payment: earlier }, r.meta);
      }
      const { call, payment } = byRequest.get(i)!;
      if ('failure' in call) return logOutcome(call.outcome, r.meta);
      if (!payment) throw new Error(`no payment recorded for order ${r.message.orderId}`);
      await events.paymentDecided(payment, r.meta);
      return logOutcome({ kind: payment.status, payment }, r.meta);
    }),
  );
}

function attemptStart(message: PaymentMessage, meta: DeliveryMeta, deps: AuthorizePaymentDeps): AttemptStart {
  return {
    orderId: message.orderId,
    messageId: meta.messageId,
    deliveryAttempt: meta.attempt,
    redelivered: meta.redelivered,
    gateway: deps.gateway.name,
    startedAt: deps.now(),
  };
}

/** What one gateway call came to, not yet recorded. */
type GatewayCall =
  | { readonly failure: AttemptFailure; readonly outcome: PaymentOutcome }
  | { readonly payment: Payment; readonly latencyMs: number; readonly outcome?: undefined };

async function callGateway(
  message: PaymentMessage,
  meta: DeliveryMeta,
  attempt: AttemptRef,
  deps: AuthorizePaymentDeps,
): Promise<GatewayCall> {
  const { gateway } = deps;
  const started = performance.now();
  let result: AuthorizationResult;
  try {
    result = await callWithDeadline(gateway, message, deps.gatewayTimeoutMs);
  } catch (err) {
    // Only a request the processor refused is final; anything else (its trouble, or an
    // error nobody classified) is worth a bounded number of retries with the same key.
    const transient = !(err instanceof GatewayRequestError);
    const error = err instanceof Error ? err.message : String(err);
    return {
      failure: {
        error: error.slice(0, 1000),
        transient,
        latencyMs: elapsed(started),
        finishedAt: deps.now(),
      },
      outcome: {
        kind: 'gateway-error',
        transient,
        error,
        ...(err instanceof GatewayRequestError ? { code: err.code } : {}),
      },
    };
  }
  const base = {
    orderId: message.orderId,
    amount: message.amount,
    currency: message.currency,
    gateway: gateway.name,
    attempts: attempt.attemptNo,
    messageId: meta.messageId,
    decidedAt: deps.now(),
  };
  const payment: Payment =
    result.status === 'authorized'
      ? { ...base, status: 'authorized', authorizationId: result.authorizationId }
      : {
          ...base,
          status: 'declined',
          // Bounded as the declined event allows; a processor's prose can run long.
          declineCode: result.code.slice(0, 60),
          declineReason: result.reason.slice(0, 1000),
        };
  return { payment, latencyMs: elapsed(started) };
}

async function callWithDeadline(
  gateway: PaymentGateway,
  message: PaymentMessage,
  timeoutMs: number,
): Promise<AuthorizationResult> {
  const ac = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  // The deadline holds even against a gateway that ignores its abort signal.
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new GatewayTimeoutError(`payment gateway did not answer within ${timeoutMs} ms`));
      ac.abort();
    }, timeoutMs);
  });
  try {
    return await Promise.race([
      gateway.authorize(
        {
          idempotencyKey: message.orderId,
          amount: message.amount,
          currency: message.currency,
          token: message.paymentMethodToken,
          description: `order ${message.orderId}`,
          customer: { name: message.customer.name, email: message.customer.email },
          billingCountry: message.billingAddress.country,
        },
        { signal: ac.signal },
      ),
      deadline,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

const elapsed = (started: number) => Math.max(0, Math.round(performance.now() - started));
