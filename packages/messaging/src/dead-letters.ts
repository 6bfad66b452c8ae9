import { createHash } from 'node:crypto';
import { HEADERS } from '@notify/contracts';
import type { ConsumeMessage, Options } from 'amqplib';
import type { Logger } from 'pino';
import type { PausePolicy } from './backoff.js';
import { DependencyUnavailableError, errorMessage } from './errors.js';
import { publisherIdentity, withPublishedBy } from './identity.js';
import type { IdentityTrust } from './identity.js';
import { OutagePause } from './pause.js';
import type { AttemptResult, ConsumerStatus, Outage } from './pause.js';
import type { Publisher } from './publisher.js';
import { QueueSubscription } from './queue-subscription.js';
import type { ConnectionSource, DeliveryHandle } from './queue-subscription.js';

// Dead letters are moved out of the broker, not looked at in it. On RabbitMQ 4.0-4.2 a
// quorum queue counts every message a reader fetches and gives back toward its delivery
// limit, so reading a dead-letter queue in place (basic.get, then close the channel)
// changes what it reads and, often enough, loses it. A drain consumes the queue, hands
// each message to a store (the order API parks it in PostgreSQL) and acks it only after
// the store said it keeps it; from then on looking is a query, and a replay republishes
// the stored copy.

/** A JSON value: what a stored header becomes (AMQP byte arrays as `{ "$bytes": base64 }`). */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** The AMQP properties a letter keeps (besides its id and headers) to be published again as it was. */
export interface LetterProperties {
  readonly correlationId?: string;
  readonly type?: string;
  readonly contentType?: string;
  readonly contentEncoding?: string;
  /** Seconds since the epoch, as AMQP carries it. */
  readonly timestamp?: number;
  readonly appId?: string;
}

/** Where and why a message died first, as the broker or the consumer runner recorded it. */
export interface FirstDeath {
  readonly queue: string | null;
  readonly reason: string | null;
  readonly exchange: string | null;
}

/** One message taken from a dead-letter (or unroutable) queue, with all it needs to be published again. */
export interface CapturedLetter {
  /** The queue it was taken from. */
  readonly queue: string;
  /** Its message id; a message without one gets the hash of its body and routing key. */
  readonly messageId: string;
  /**
   * The exchange of its first death when the broker dead-lettered it, else the one it
   * arrived through (`notification` for an unroutable message).
   */
  readonly exchange: string;
  /**
   * The routing key it was first published with: the runner's x-routing-key, else the
   * routing key of its first death in x-death (the broker rewrites the key when it
   * dead-letters), else the one it arrived with.
   */
  readonly routingKey: string;
  readonly properties: LetterProperties;
  /** Every header it arrived with, JSON-safe. */
  readonly headers: Record<string, JsonValue>;
  readonly body: Buffer;
  readonly reason: string;
  readonly detail: string | null;
  readonly deadLetteredAt: Date | null;
  readonly firstDeath: FirstDeath | null;
  readonly attempts: number | null;
  readonly replays: number;
  /** The verified identity of its first publisher (identity.ts), when known. */
  readonly publishedBy: string | null;
}

/** Why a message from the unroutable queue is there. */
export const UNROUTABLE_REASON = 'unroutable';

const REPLAY_COUNT_HEADER = 'x-replay-count';
const REPLAYED_AT_HEADER = 'x-replayed-at';
/** Headers about the message's death, ours and the broker's; a replayed message starts clean. */
const DEATH_HEADERS = [
  HEADERS.deathReason,
  HEADERS.deathDetail,
  HEADERS.deathAt,
  HEADERS.originalQueue,
  HEADERS.lastError,
  'x-death',
  'x-first-death-exchange',
  'x-first-death-queue',
  'x-first-death-reason',
  'x-last-death-exchange',
  'x-last-death-queue',
  'x-last-death-reason',
  'x-delivery-count',
];

function text(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  return null;
}

function int(v: unknown): number | null {
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
  return Number.isInteger(n) ? n : null;
}

function date(v: unknown): Date | null {
  const s = text(v);
  if (s === null) return null;
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** An AMQP header value as JSON; byte arrays become `{ "$bytes": base64 }`. */
export function headerToJson(v: unknown): JsonValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'bigint') return v.toString();
  if (Buffer.isBuffer(v)) return { $bytes: v.toString('base64') };
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map(headerToJson);
  if (typeof v === 'object') {
    const out: Record<string, JsonValue> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = headerToJson(x);
    return out;
  }
  return null;
}

/** The inverse of headerToJson, for publishing a stored header again. */
export function headerFromJson(v: JsonValue): unknown {
  if (Array.isArray(v)) return v.map(headerFromJson);
  if (v !== null && typeof v === 'object') {
    const keys = Object.keys(v);
    if (keys.length === 1 && keys[0] === '$bytes' && typeof v.$bytes === 'string') {
      return Buffer.from(v.$bytes, 'base64');
    }
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = headerFromJson(x);
    return out;
  }
  return v;
}

/** x-death's entry for the message's first death (the broker lists the latest first). */
function firstDeathEntry(headers: Record<string, unknown>): Record<string, unknown> | null {
  const deaths = headers['x-death'];
  if (!Array.isArray(deaths) || deaths.length === 0) return null;
  const queue = text(headers['x-first-death-queue']);
  const reason = text(headers['x-first-death-reason']);
  const entries = deaths.filter((d): d is Record<string, unknown> => typeof d === 'object' && d !== null);
  return (
    entries.find((d) => text(d.queue) === queue && text(d.reason) === reason) ??
    entries[entries.length - 1] ??
    null
  );
}

function firstRoutingKey(entry: Record<string, unknown> | null): string | null {
  const keys = entry?.['routing-keys'];
  return Array.isArray(keys) ? text(keys[0]) : null;
}

/**
 * Reads what a dead-letter or unroutable queue delivered: its id, where it first went
 * and why it died. `trust` tells whose x-published-by is believed (the consumer's own
 * exchanges and users); without it the identity is the message's user-id.
 */
export function captureLetter(
  msg: ConsumeMessage,
  queue: string,
  options: { readonly unroutable?: boolean; readonly trust?: IdentityTrust | undefined } = {},
): CapturedLetter {
  const p = msg.properties;
  const headers = (p.headers ?? {}) as Record<string, unknown>;
  const first = firstDeathEntry(headers);
  const routingKey = text(headers[HEADERS.routingKey]) ?? firstRoutingKey(first) ?? msg.fields.routingKey;
  const exchange = text(headers['x-first-death-exchange']) ?? text(first?.exchange) ?? msg.fields.exchange;
  const messageId =
    typeof p.messageId === 'string' && p.messageId !== ''
      ? p.messageId
      : createHash('sha256').update(routingKey).update('\0').update(msg.content).digest('hex');
  const brokerReason = text(headers['x-first-death-reason']);
  const reason = options.unroutable
    ? UNROUTABLE_REASON
    : (text(headers[HEADERS.deathReason]) ?? (brokerReason ? `broker-${brokerReason}` : 'unknown'));
  const properties: {
    -readonly [K in keyof LetterProperties]: LetterProperties[K];
  } = {};
  if (typeof p.correlationId === 'string') properties.correlationId = p.correlationId;
  if (typeof p.type === 'string') properties.type = p.type;
  if (typeof p.contentType === 'string') properties.contentType = p.contentType;
  if (typeof p.contentEncoding === 'string') properties.contentEncoding = p.contentEncoding;
  if (typeof p.timestamp === 'number') properties.timestamp = p.timestamp;
  if (typeof p.appId === 'string') properties.appId = p.appId;
  const firstDeath: FirstDeath | null =
    brokerReason || first || headers[HEADERS.originalQueue]
      ? {
          queue: text(headers['x-first-death-queue']) ?? text(headers[HEADERS.originalQueue]),
          reason: brokerReason ?? text(headers[HEADERS.deathReason]),
          exchange,
        }
      : null;
  const deathTime = int(first?.time);
  return {
    queue,
    messageId,
    exchange,
    routingKey,
    properties,
    headers: headerToJson(headers) as Record<string, JsonValue>,
    body: msg.content,
    reason,
    detail: text(headers[HEADERS.deathDetail]),
    deadLetteredAt:
      date(headers[HEADERS.deathAt]) ?? (deathTime !== null ? new Date(deathTime * 1000) : null),
    firstDeath,
    attempts: int(headers[HEADERS.attempt]),
    replays: int(headers[REPLAY_COUNT_HEADER]) ?? 0,
    publishedBy: publisherIdentity(msg, options.trust) ?? null,
  };
}

/** What replay needs of a stored letter. */
export type ReplayableLetter = Pick<
  CapturedLetter,
  'messageId' | 'routingKey' | 'properties' | 'headers' | 'body' | 'replays' | 'publishedBy'
>;

/**
 * Publishes a stored letter again (confirmed) to `exchange` with `routingKey`: its id,
 * properties and headers as it came, without the headers of its death, with a fresh
 * attempt budget, one more replay counted, and x-routing-key naming the key it was
 * first published with, so a consumer that picks the contract by routing key (the order
 * API's status consumer) reads it as the event it was.
 */
export async function republishLetter(
  publisher: Pick<Publisher, 'publishRaw'>,
  letter: ReplayableLetter,
  target: { readonly exchange: string; readonly routingKey: string },
  now: Date = new Date(),
): Promise<void> {
  const stored: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(letter.headers)) stored[k] = headerFromJson(v);
  const headers = withPublishedBy(stored, letter.publishedBy ?? undefined);
  for (const h of DEATH_HEADERS) delete headers[h];
  headers[HEADERS.attempt] = 1;
  headers[HEADERS.routingKey] = letter.routingKey;
  headers[REPLAY_COUNT_HEADER] = letter.replays + 1;
  headers[REPLAYED_AT_HEADER] = now.toISOString();
  const properties: Options.Publish = { ...letter.properties, messageId: letter.messageId, headers };
  await publisher.publishRaw({
    exchange: target.exchange,
    routingKey: target.routingKey,
    content: letter.body,
    properties,
  });
}

export interface DeadLetterDrainOptions {
  readonly queue: string;
  /** Keeps the letter for good (idempotent on queue and message id); the message is acked after it resolves. */
  readonly park: (letter: CapturedLetter) => Promise<void>;
  /** The queue holds unroutable messages: their reason is `unroutable`. */
  readonly unroutable?: boolean;
  readonly trust?: IdentityTrust;
  readonly prefetch?: number;
  /** How long the drain waits between tries while the store is down (tests shorten it). */
  readonly pause?: Partial<PausePolicy>;
  readonly logger?: Logger | undefined;
}

/**
 * Moves every message of a dead-letter (or unroutable) queue into a store: consumes it,
 * parks each message, and acks it only once the store kept it, so a crash in between
 * delivers it again and the store, keyed by queue and message id, keeps it once. When
 * the store is down the drain pauses (cancels its consumer, holds what it caught, tries
 * again with backoff) and never gives a message back to the queue, which would count
 * toward the queue's delivery limit. Messages are parked one at a time in the order the
 * queue delivers them (the prefetch window only saves round trips), so the park lists
 * them in the queue's order.
 */
export class DeadLetterDrain {
  private readonly subscription: QueueSubscription;
  private readonly pause: OutagePause<true>;
  private readonly log: Logger | undefined;
  /** Parks run one after another, in the order the queue delivered them. */
  private parking: Promise<unknown> = Promise.resolve();

  constructor(
    broker: ConnectionSource,
    private readonly options: DeadLetterDrainOptions,
  ) {
    this.log = options.logger?.child({ component: 'dead-letter-drain', queue: options.queue });
    this.subscription = new QueueSubscription(broker, {
      queue: options.queue,
      prefetch: options.prefetch ?? 20,
      logger: this.log,
      onMessage: (msg, handle) => this.handle(msg, handle),
    });
    this.pause = new OutagePause<true>({
      stopConsuming: () => this.subscription.pause(),
      startConsuming: () => this.subscription.resume(),
      ...(options.pause ? { policy: options.pause } : {}),
      logger: this.log,
    });
  }

  get queue(): string {
    return this.options.queue;
  }

  get isConsuming(): boolean {
    return this.subscription.isConsuming;
  }

  get status(): ConsumerStatus {
    return this.pause.status;
  }

  get active(): number {
    return this.subscription.active;
  }

  start(): Promise<void> {
    return this.subscription.start();
  }

  waitUntilConsuming(timeoutMs?: number): Promise<void> {
    return this.subscription.waitUntilConsuming(timeoutMs);
  }

  async stop(timeoutMs = 30_000): Promise<void> {
    await this.pause.stop();
    await this.subscription.stop(timeoutMs);
  }

  private inTurn<T>(work: () => Promise<T>): Promise<T> {
    const turn = this.parking.then(work);
    this.parking = turn.catch(() => undefined);
    return turn;
  }

  private async handle(msg: ConsumeMessage, handle: DeliveryHandle): Promise<void> {
    const letter = captureLetter(msg, this.options.queue, {
      unroutable: this.options.unroutable ?? false,
      trust: this.options.trust,
    });
    const attempt = async (): Promise<AttemptResult<true>> => {
      try {
        await this.options.park(letter);
      } catch (err) {
        return { outage: storeOutage(err), next: attempt };
      }
      handle.ack();
      return { done: true };
    };
    const first = await this.inTurn(attempt);
    if ('outage' in first) {
      this.log?.warn(
        { ...first.outage, messageId: letter.messageId },
        'cannot park a dead letter; holding it',
      );
      await this.pause.hold(first.outage, first.next, handle);
    }
  }
}

function storeOutage(err: unknown): Outage {
  if (err instanceof DependencyUnavailableError) return { dependency: err.dependency, reason: err.message };
  return { dependency: 'database', reason: errorMessage(err) };
}
