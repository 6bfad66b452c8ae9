import { deliveryEvents, EXCHANGES, HEADERS, validate } from '@notify/contracts';
import type { Channel as ChannelName, ConsumerTopology, Contract, Payload } from '@notify/contracts';
import type { Channel, ChannelModel, ConsumeMessage, Options } from 'amqplib';
import type { Logger } from 'pino';
import { DEFAULT_RETRY_POLICY, retryDelay } from './backoff.js';
import type { RetryPolicy } from './backoff.js';
import type { Broker } from './broker.js';
import { errorMessage, isPermanent } from './errors.js';
import { Fates } from './fate.js';
import type { Fate } from './fate.js';
import { republishProperties } from './properties.js';
import type { Publisher } from './publisher.js';

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
  readonly headers: Readonly<Record<string, unknown>>;
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

export type Outcome = 'ack' | 'duplicate' | 'retry' | 'dead-letter' | 'requeue';

export type DeadLetterReason =
  | 'invalid-json'
  | 'missing-message-id'
  | 'unknown-type'
  | 'invalid-message'
  | 'permanent-failure'
  | 'max-attempts-exceeded';

export interface ConsumerObserver {
  onOutcome?(outcome: Outcome, info: { queue: string; durationMs: number; reason?: string }): void;
}

export interface ConsumerOptions<C extends Contract> {
  readonly topology: ConsumerTopology;
  /** The contracts this queue carries; the AMQP `type` property (and routing key) picks one. */
  readonly contracts: readonly C[];
  /**
   * Decides the message's fate by what it returns (nothing means ack). A throw is an
   * unexpected failure: PermanentError dead-letters, anything else retries.
   */
  readonly handler: (delivery: Delivery<C>) => Promise<Fate | void>;
  /** Publisher used for retries, dead letters and lifecycle events. */
  readonly publisher: Publisher;
  readonly prefetch?: number;
  readonly retry?: Partial<RetryPolicy>;
  /** Idempotency hook: return true to ack a message whose effect already happened. */
  readonly alreadyProcessed?: (ctx: MessageContext) => Promise<boolean>;
  /** Publish `<channel>.retrying` / `<channel>.dead_lettered` to order.events for this channel. */
  readonly lifecycleChannel?: ChannelName;
  readonly observer?: ConsumerObserver;
  readonly logger?: Logger;
}

/**
 * Runs a handler over a durable quorum queue with manual acks. Invalid messages go to
 * the dead-letter queue at once; handler errors are retried through delay queues with
 * exponential backoff and jitter, a bounded number of times, then dead-lettered. A
 * message is acked only after its fate is settled (handled, or re-published and
 * confirmed elsewhere), so a crash at any point leads to redelivery, never to loss.
 */
export class Consumer<C extends Contract> {
  private channel: Channel | null = null;
  private consumerTag: string | null = null;
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];
  private stopping = false;
  private started = false;
  private reattachTimer: NodeJS.Timeout | null = null;
  private readonly policy: RetryPolicy;
  private readonly log: Logger | undefined;
  private readonly queue: string;
  private readonly onConnected = (conn: ChannelModel) => {
    this.channel = null;
    this.consumerTag = null;
    void this.attach(conn);
  };

  constructor(
    private readonly broker: Broker,
    private readonly options: ConsumerOptions<C>,
  ) {
    this.policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.queue = options.topology.queue.name;
    this.log = options.logger?.child({ component: 'consumer', queue: this.queue });
  }

  /** Declares the queue's topology and starts consuming (now, and after every reconnect). */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const t = this.options.topology;
    await this.broker.addTopology({
      exchanges: Object.values(EXCHANGES),
      queues: [t.queue, t.deadLetterQueue, ...t.retryQueues],
      bindings: t.bindings,
    });
    this.broker.on('connected', this.onConnected);
    const conn = this.broker.connection();
    if (conn) await this.attach(conn);
  }

  /** Messages being handled right now. */
  get active(): number {
    return this.inFlight;
  }

  get isConsuming(): boolean {
    return this.consumerTag !== null;
  }

  /** Resolves once the consumer is attached to its queue (after the broker connected). */
  async waitUntilConsuming(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.isConsuming) {
      if (this.stopping) throw new Error(`consumer of ${this.queue} is stopped`);
      if (Date.now() > deadline)
        throw new Error(`consumer of ${this.queue} not attached within ${timeoutMs} ms`);
      await delay(25);
    }
  }

  /** Stops taking messages, waits for in-flight handlers (up to timeoutMs), then closes. */
  async stop(timeoutMs = 30_000): Promise<void> {
    this.stopping = true;
    this.broker.off('connected', this.onConnected);
    if (this.reattachTimer) clearTimeout(this.reattachTimer);
    const ch = this.channel;
    if (ch && this.consumerTag) await ch.cancel(this.consumerTag).catch(() => {});
    this.consumerTag = null;
    await this.waitIdle(timeoutMs);
    this.channel = null;
    if (ch) await ch.close().catch(() => {});
  }

  private waitIdle(timeoutMs: number): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.log?.warn({ inFlight: this.inFlight }, 'stop timed out with handlers still running');
        resolve();
      }, timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private async attach(conn: ChannelModel): Promise<void> {
    if (this.stopping) return;
    try {
      const ch = await conn.createChannel();
      ch.on('error', (err: Error) => this.log?.warn({ err: errorMessage(err) }, 'consumer channel error'));
      ch.on('close', () => {
        if (this.channel !== ch) return;
        this.channel = null;
        this.consumerTag = null;
        this.scheduleReattach();
      });
      await ch.prefetch(this.options.prefetch ?? 10);
      this.channel = ch;
      const { consumerTag } = await ch.consume(
        this.queue,
        (msg) => {
          if (msg === null) {
            // The broker cancelled us (queue deleted or a node went away).
            this.consumerTag = null;
            this.scheduleReattach();
            return;
          }
          void this.handle(ch, msg);
        },
        { noAck: false },
      );
      this.consumerTag = consumerTag;
      this.log?.info({ prefetch: this.options.prefetch ?? 10 }, 'consuming');
    } catch (err) {
      this.log?.warn({ err: errorMessage(err) }, 'could not start consuming; will retry');
      this.scheduleReattach();
    }
  }

  private scheduleReattach() {
    if (this.stopping || this.reattachTimer) return;
    this.reattachTimer = setTimeout(() => {
      this.reattachTimer = null;
      const conn = this.broker.connection();
      if (conn && !this.consumerTag) void this.attach(conn);
    }, 1_000);
  }

  private async handle(ch: Channel, msg: ConsumeMessage): Promise<void> {
    this.inFlight++;
    const started = performance.now();
    let outcome: Outcome = 'requeue';
    let reason: string | undefined;
    try {
      const result = await this.process(ch, msg);
      outcome = result.outcome;
      reason = result.reason;
    } catch (err) {
      // Re-routing failed (broker trouble): give the message back so it is not lost.
      reason = errorMessage(err);
      this.log?.warn({ err: reason }, 'could not settle message; returning it to the queue');
      await delay(500);
      safe(() => ch.nack(msg, false, true));
    } finally {
      this.options.observer?.onOutcome?.(outcome, {
        queue: this.queue,
        durationMs: performance.now() - started,
        ...(reason ? { reason } : {}),
      });
      this.inFlight--;
      if (this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  private async process(ch: Channel, msg: ConsumeMessage): Promise<{ outcome: Outcome; reason?: string }> {
    const props = msg.properties;
    const headers: Record<string, unknown> = { ...(props.headers ?? {}) };
    const attempt = positiveInt(headers[HEADERS.attempt]) ?? 1;
    const routingKey =
      typeof headers[HEADERS.routingKey] === 'string'
        ? (headers[HEADERS.routingKey] as string)
        : msg.fields.routingKey;
    const messageId: string | undefined =
      typeof props.messageId === 'string' && props.messageId ? props.messageId : undefined;
    const correlationId = typeof props.correlationId === 'string' ? props.correlationId : undefined;
    const logger = this.log?.child({ messageId, orderId: correlationId, attempt });
    const ctxBase = { msg, attempt, routingKey, logger, correlationId };

    if (!messageId)
      return this.deadLetter(ch, ctxBase, 'missing-message-id', 'message has no messageId property');
    let body: unknown;
    try {
      body = JSON.parse(msg.content.toString('utf8'));
    } catch (err) {
      return this.deadLetter(ch, ctxBase, 'invalid-json', errorMessage(err));
    }
    const contract = this.contractFor(props.type, routingKey);
    if (!contract) {
      return this.deadLetter(
        ch,
        ctxBase,
        'unknown-type',
        `type "${String(props.type)}" on "${routingKey}" is not accepted here`,
      );
    }
    const checked = validate(contract, body);
    if (!checked.ok) {
      const detail = checked.errors.map((e) => `${e.field || '(root)'} ${e.message}`).join('; ');
      return this.deadLetter(ch, ctxBase, 'invalid-message', detail.slice(0, 1000));
    }
    const ctx: MessageContext = {
      messageId,
      correlationId,
      attempt,
      maxAttempts: this.policy.maxAttempts,
      redelivered: msg.fields.redelivered,
      routingKey,
      publishedAt:
        typeof props.timestamp === 'number' && props.timestamp > 0
          ? new Date(props.timestamp * 1000)
          : undefined,
      headers,
      traceparent:
        typeof headers[HEADERS.traceparent] === 'string'
          ? (headers[HEADERS.traceparent] as string)
          : undefined,
      logger,
    };
    if (this.options.alreadyProcessed && (await this.options.alreadyProcessed(ctx))) {
      logger?.info('duplicate delivery; effect already happened');
      safe(() => ch.ack(msg));
      return { outcome: 'duplicate' };
    }
    let fate: Fate | void;
    try {
      fate = await this.options.handler({
        key: contract.routingKey,
        contract,
        payload: checked.value,
        ctx,
      } as Delivery<C>);
    } catch (err) {
      fate = isPermanent(err)
        ? Fates.deadLetter(errorMessage(err), err.detail)
        : Fates.retry(errorMessage(err));
    }
    if (fate && fate.kind !== 'ack') {
      if (fate.kind === 'dead-letter') {
        return this.deadLetter(ch, ctxBase, 'permanent-failure', fate.reason, fate.detail);
      }
      const message =
        fate.kind === 'unavailable' ? `${fate.dependency} unavailable: ${fate.reason}` : fate.reason;
      if (attempt >= this.policy.maxAttempts) {
        return this.deadLetter(ch, ctxBase, 'max-attempts-exceeded', `after ${attempt} attempts: ${message}`);
      }
      return this.retry(ch, ctxBase, message);
    }
    safe(() => ch.ack(msg));
    return { outcome: 'ack' };
  }

  private contractFor(type: unknown, routingKey: string): C | undefined {
    const { contracts } = this.options;
    const byType = contracts.filter((c) => c.type === type);
    if (byType.length <= 1) return byType[0];
    return byType.find((c) => c.routingKey === routingKey);
  }

  private copyProperties(msg: ConsumeMessage, headers: Record<string, unknown>): Options.Publish {
    return republishProperties(msg, { ...(msg.properties.headers ?? {}), ...headers });
  }

  private async retry(
    ch: Channel,
    c: {
      msg: ConsumeMessage;
      attempt: number;
      routingKey: string;
      logger: Logger | undefined;
      correlationId: string | undefined;
    },
    reason: string,
  ): Promise<{ outcome: Outcome; reason: string }> {
    const delayMs = retryDelay(this.policy, c.attempt);
    const t = this.options.topology;
    await this.options.publisher.publishRaw({
      exchange: EXCHANGES.retry.name,
      routingKey: t.retryRoutingKey(c.attempt),
      content: c.msg.content,
      properties: {
        ...this.copyProperties(c.msg, {
          [HEADERS.attempt]: c.attempt + 1,
          [HEADERS.routingKey]: c.routingKey,
          [HEADERS.lastError]: reason.slice(0, 500),
        }),
        expiration: String(delayMs),
      },
    });
    c.logger?.warn({ err: reason, delayMs, nextAttempt: c.attempt + 1 }, 'handler failed; retry scheduled');
    await this.lifecycle('retrying', c.correlationId, {
      attempt: c.attempt,
      delayMs,
      reason: reason.slice(0, 1000),
    });
    safe(() => ch.ack(c.msg));
    return { outcome: 'retry', reason };
  }

  private async deadLetter(
    ch: Channel,
    c: {
      msg: ConsumeMessage;
      attempt: number;
      routingKey: string;
      logger: Logger | undefined;
      correlationId: string | undefined;
    },
    reason: DeadLetterReason,
    detail: string,
    providerDetail?: string,
  ): Promise<{ outcome: Outcome; reason: string }> {
    const t = this.options.topology;
    await this.options.publisher.publishRaw({
      exchange: EXCHANGES.deadLetter.name,
      routingKey: t.deadLetterRoutingKey,
      content: c.msg.content,
      properties: this.copyProperties(c.msg, {
        [HEADERS.attempt]: c.attempt,
        [HEADERS.routingKey]: c.routingKey,
        [HEADERS.deathReason]: reason,
        [HEADERS.deathDetail]: (providerDetail ? `${detail} | ${providerDetail}` : detail).slice(0, 1000),
        [HEADERS.deathAt]: new Date().toISOString(),
        [HEADERS.originalQueue]: this.queue,
      }),
    });
    c.logger?.error({ reason, detail }, 'message dead-lettered');
    await this.lifecycle('deadLettered', c.correlationId, {
      attempts: c.attempt,
      reason: `${reason}: ${providerDetail ?? detail}`.slice(0, 1000),
    });
    safe(() => ch.ack(c.msg));
    return { outcome: 'dead-letter', reason };
  }

  private async lifecycle(
    kind: 'retrying' | 'deadLettered',
    orderId: string | undefined,
    fields: { attempt: number; delayMs: number; reason: string } | { attempts: number; reason: string },
  ): Promise<void> {
    const channel = this.options.lifecycleChannel;
    if (!channel || !orderId) return;
    // The two lifecycle contracts differ in payload; the union is checked at run time below.
    const contract: Contract = deliveryEvents[channel][kind];
    const payload = { orderId, occurredAt: new Date().toISOString(), channel, ...fields };
    if (!validate(contract, payload).ok) return; // e.g. a correlation id that is not an order id
    try {
      await this.options.publisher.publish(contract, payload as Payload<Contract>, {
        messageId: `${orderId}:${channel}:${kind}:${'attempt' in fields ? fields.attempt : fields.attempts}`,
        correlationId: orderId,
      });
    } catch (err) {
      // Status events are informative; the message's own fate is already settled.
      this.log?.warn({ err: errorMessage(err), orderId }, `could not publish ${kind} event`);
    }
  }
}

function positiveInt(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

function safe(fn: () => void) {
  try {
    fn();
  } catch {
    // The channel closed under us; the broker redelivers the message.
  }
}

function delay(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}
