import { HEADERS, validate } from '@notify/contracts';
import type { Contract, Payload } from '@notify/contracts';
import type { Logger } from 'pino';
import { retryDelay } from './backoff.js';
import type { RetryPolicy } from './backoff.js';
import { DependencyUnavailableError, errorMessage, isPermanent } from './errors.js';
import { Fates } from './fate.js';
import type { Fate } from './fate.js';
import { publisherIdentity } from './identity.js';
import type { IdentityTrust } from './identity.js';

// The pure half of the consumer runner: what becomes of a message, decided from the
// delivery and the handler's answer alone. Nothing here touches a channel, so every
// path is tested without a broker; the runner only carries the decision out.

export interface MessageContext {
  readonly messageId: string;
  /** The order id, when the publisher set it. */
  readonly correlationId: string | undefined;
  /** 1 on the first delivery, incremented by every delayed retry. */
  readonly attempt: number;
  /**
   * The retry policy's total attempts: a handler on attempt === maxAttempts knows that a
   * retry fate will dead-letter the message instead.
   */
  readonly maxAttempts: number;
  /** The broker redelivered this message (a consumer died or a channel closed holding it). */
  readonly redelivered: boolean;
  readonly routingKey: string;
  /** The AMQP `timestamp` property: when the publisher says the message was created. */
  readonly publishedAt: Date | undefined;
  /**
   * The broker user that first published the message, as the broker verified it (see
   * publisherIdentity); undefined when unknown.
   */
  readonly publishedBy: string | undefined;
  readonly headers: Readonly<Record<string, unknown>>;
  /**
   * The trace context handling runs in, for the messages the handler publishes: the
   * consumer's process span when an OpenTelemetry SDK records it, else the message's own.
   */
  readonly traceparent: string | undefined;
  /** A child logger carrying orderId, messageId and the queue. */
  readonly logger: Logger | undefined;
}

/** What a handler receives: discriminated by `key` (the contract's routing key). */
export type Delivery<C extends Contract> = C extends Contract
  ? {
      readonly key: C['routingKey'];
      readonly contract: C;
      readonly payload: Payload<C>;
      readonly ctx: MessageContext;
    }
  : never;

export type DeadLetterReason =
  | 'invalid-json'
  | 'missing-message-id'
  | 'unknown-type'
  | 'invalid-message'
  | 'permanent-failure'
  | 'max-attempts-exceeded';

/** The parts of an AMQP message the decision reads (an amqplib message is one). */
export interface RawDelivery {
  readonly fields: { readonly exchange: string; readonly routingKey: string; readonly redelivered: boolean };
  readonly properties: {
    readonly userId?: unknown;
    readonly messageId?: unknown;
    readonly correlationId?: unknown;
    readonly type?: unknown;
    readonly timestamp?: unknown;
    readonly headers?: Readonly<Record<string, unknown>> | undefined;
  };
  readonly content: Buffer;
}

/** What the runner reads from every delivery, valid or not: enough to log and reroute it. */
export interface Envelope {
  readonly messageId: string | undefined;
  readonly correlationId: string | undefined;
  readonly attempt: number;
  /** The routing key it was first published with (a retry re-enters under the queue's name). */
  readonly routingKey: string;
  /** Its first publisher's verified identity; a republished copy carries it on. */
  readonly publishedBy: string | undefined;
}

export interface AckDecision {
  readonly action: 'ack';
}

export interface RetryDecision {
  readonly action: 'retry';
  /** Why this attempt failed; stored as the retry's last error. */
  readonly message: string;
  readonly delayMs: number;
  readonly nextAttempt: number;
}

export interface DeadLetterDecision {
  readonly action: 'dead-letter';
  readonly reason: DeadLetterReason;
  /** What went wrong, in words. */
  readonly message: string;
  /** Extra detail from the failing party (a provider's reply), when there is one. */
  readonly detail?: string;
  /** Deliveries this message had, this one included. */
  readonly attempts: number;
}

/** A dependency is down: keep the message and pause, without spending an attempt. */
export interface HoldDecision {
  readonly action: 'hold';
  readonly dependency: string;
  readonly reason: string;
}

export type Decision = AckDecision | RetryDecision | DeadLetterDecision | HoldDecision;

/** A message that decoded and fits one of the accepted contracts, or the reason it does not. */
export type Admission<C extends Contract> =
  | { readonly ok: true; readonly delivery: Delivery<C> }
  | { readonly ok: false; readonly decision: DeadLetterDecision };

/** How the handler finished: with a fate (nothing meaning ack), or by throwing. */
export type HandlerResult = { readonly returned: Fate | void } | { readonly threw: unknown };

/** Reads the envelope; without `trust`, the identity is the `user-id` property alone. */
export function readEnvelope(raw: RawDelivery, trust?: IdentityTrust): Envelope {
  const props = raw.properties;
  const headers = props.headers ?? {};
  const original = headers[HEADERS.routingKey];
  return {
    messageId: typeof props.messageId === 'string' && props.messageId ? props.messageId : undefined,
    correlationId: typeof props.correlationId === 'string' ? props.correlationId : undefined,
    attempt: positiveInt(headers[HEADERS.attempt]) ?? 1,
    routingKey: typeof original === 'string' ? original : raw.fields.routingKey,
    publishedBy: publisherIdentity(raw, trust),
  };
}

/**
 * Decodes and validates a delivery against the contracts this queue accepts. A message
 * that cannot be handled (no id, not JSON, a type not accepted here, a payload that
 * does not fit) is refused with a dead-letter decision before any handler sees it.
 */
export function admit<C extends Contract>(
  raw: RawDelivery,
  envelope: Envelope,
  contracts: readonly C[],
  options: {
    readonly maxAttempts: number;
    readonly logger?: Logger | undefined;
    /** The consumer's process span, when recorded: replaces the header's as the handler's parent. */
    readonly traceparent?: string | undefined;
  },
): Admission<C> {
  const refuse = (reason: DeadLetterReason, message: string): Admission<C> => ({
    ok: false,
    decision: { action: 'dead-letter', reason, message, attempts: envelope.attempt },
  });
  const { messageId, routingKey } = envelope;
  if (!messageId) return refuse('missing-message-id', 'message has no messageId property');
  let body: unknown;
  try {
    body = JSON.parse(raw.content.toString('utf8'));
  } catch (err) {
    return refuse('invalid-json', errorMessage(err));
  }
  const props = raw.properties;
  const contract = contractFor(contracts, props.type, routingKey);
  if (!contract) {
    return refuse('unknown-type', `type "${String(props.type)}" on "${routingKey}" is not accepted here`);
  }
  const checked = validate(contract, body);
  if (!checked.ok) {
    const detail = checked.errors.map((e) => `${e.field || '(root)'} ${e.message}`).join('; ');
    return refuse('invalid-message', detail.slice(0, 1000));
  }
  const headers: Record<string, unknown> = { ...(props.headers ?? {}) };
  const traceparent = headers[HEADERS.traceparent];
  const ctx: MessageContext = {
    messageId,
    correlationId: envelope.correlationId,
    attempt: envelope.attempt,
    maxAttempts: options.maxAttempts,
    redelivered: raw.fields.redelivered,
    routingKey,
    publishedAt:
      typeof props.timestamp === 'number' && props.timestamp > 0
        ? new Date(props.timestamp * 1000)
        : undefined,
    publishedBy: envelope.publishedBy,
    headers,
    traceparent: options.traceparent ?? (typeof traceparent === 'string' ? traceparent : undefined),
    logger: options.logger,
  };
  const delivery = { key: contract.routingKey, contract, payload: checked.value, ctx } as Delivery<C>;
  return { ok: true, delivery };
}

/**
 * The fate a throw stands for: PermanentError dead-letters, DependencyUnavailableError
 * holds the message for the outage, anything else is retried.
 */
export function fateOfError(err: unknown): Fate {
  if (isPermanent(err)) return Fates.deadLetter(errorMessage(err), err.detail);
  if (err instanceof DependencyUnavailableError) return Fates.unavailable(err.dependency, err.message);
  return Fates.retry(errorMessage(err));
}

/**
 * Turns the handler's answer into a decision. A retry is bounded by the policy: on the
 * last attempt it dead-letters with 'max-attempts-exceeded'. An unavailable dependency
 * holds the message whatever its attempt: an outage is not the message's failure. `random` spreads the delay
 * (the policy's jitter) and is a parameter so the decision stays reproducible.
 */
export function decide(
  result: HandlerResult,
  attempt: number,
  policy: RetryPolicy,
  random: () => number,
): Decision {
  const fate = 'threw' in result ? fateOfError(result.threw) : (result.returned ?? Fates.ack());
  switch (fate.kind) {
    case 'ack':
      return { action: 'ack' };
    case 'dead-letter':
      return {
        action: 'dead-letter',
        reason: 'permanent-failure',
        message: fate.reason,
        ...(fate.detail === undefined ? {} : { detail: fate.detail }),
        attempts: attempt,
      };
    case 'unavailable':
      return { action: 'hold', dependency: fate.dependency, reason: fate.reason };
    case 'retry': {
      const message = fate.reason;
      if (attempt >= policy.maxAttempts) {
        return {
          action: 'dead-letter',
          reason: 'max-attempts-exceeded',
          message: `after ${attempt} attempts: ${message}`,
          attempts: attempt,
        };
      }
      return {
        action: 'retry',
        message,
        delayMs: retryDelay(policy, attempt, random),
        nextAttempt: attempt + 1,
      };
    }
  }
}

function contractFor<C extends Contract>(
  contracts: readonly C[],
  type: unknown,
  routingKey: string,
): C | undefined {
  const byType = contracts.filter((c) => c.type === type);
  if (byType.length <= 1) return byType[0];
  return byType.find((c) => c.routingKey === routingKey);
}

function positiveInt(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
  return Number.isInteger(n) && n > 0 ? n : undefined;
}
