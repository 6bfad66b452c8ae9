import { EXCHANGES } from '@notify/contracts';
import type { ConsumerTopology, Contract } from '@notify/contracts';
import type { ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import { DEFAULT_RETRY_POLICY } from './backoff.js';
import type { RetryPolicy } from './backoff.js';
import type { Broker } from './broker.js';
import { errorMessage } from './errors.js';
import type { Fate } from './fate.js';
import type { ConsumerObserver, ObservedMessage, Outcome } from './observer.js';
import type { Publisher } from './publisher.js';
import { QueueSubscription } from './queue-subscription.js';
import type { ConnectionSource, DeliveryHandle } from './queue-subscription.js';
import { Rerouter } from './reroute.js';
import { admit, decide, readEnvelope } from './settle.js';
import type { Decision, Delivery, Envelope, HandlerResult, MessageContext } from './settle.js';

// What a handler deals with, exported here too for those who import the runner alone.
export type { Delivery, MessageContext } from './settle.js';

/** What the runner needs of the Broker: its connections, and declaring the queue's topology. */
export type ConsumerBroker = ConnectionSource & Pick<Broker, 'addTopology'>;

export interface ConsumerOptions<C extends Contract> {
  readonly topology: ConsumerTopology;
  /** The contracts this queue carries; the AMQP `type` property (and routing key) picks one. */
  readonly contracts: readonly C[];
  /**
   * Decides the message's fate by what it returns (nothing means ack). A throw is an
   * unexpected failure: PermanentError dead-letters, anything else retries.
   */
  readonly handler: (delivery: Delivery<C>) => Promise<Fate | void>;
  /** Publisher used for retries and dead letters. */
  readonly publisher: Pick<Publisher, 'publishRaw'>;
  readonly prefetch?: number;
  readonly retry?: Partial<RetryPolicy>;
  /** Idempotency hook: return true to ack a message whose effect already happened. */
  readonly alreadyProcessed?: (ctx: MessageContext) => Promise<boolean>;
  /** Told of every outcome, retry and dead letter (metrics, the application's status events). */
  readonly observer?: ConsumerObserver;
  readonly logger?: Logger;
}

/**
 * Runs a handler over a durable quorum queue with manual acks. Invalid messages go to
 * the dead-letter queue at once; handler failures are retried through delay queues with
 * exponential backoff and jitter, a bounded number of times, then dead-lettered. A
 * message is acked only after its fate is settled (handled, or re-published and
 * confirmed elsewhere), so a crash at any point leads to redelivery, never to loss.
 *
 * The jobs live apart: the subscription keeps the channel consuming, `settle` decides
 * every message's fate without touching the broker, the rerouter moves messages to the
 * retry and dead-letter exchanges, and the observer tells the application.
 */
export class Consumer<C extends Contract> {
  private readonly policy: RetryPolicy;
  private readonly log: Logger | undefined;
  private readonly queue: string;
  private readonly subscription: QueueSubscription;
  private readonly rerouter: Rerouter;
  private started = false;

  constructor(
    private readonly broker: ConsumerBroker,
    private readonly options: ConsumerOptions<C>,
  ) {
    this.policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.queue = options.topology.queue.name;
    this.log = options.logger?.child({ component: 'consumer', queue: this.queue });
    this.rerouter = new Rerouter(options.publisher, options.topology);
    this.subscription = new QueueSubscription(broker, {
      queue: this.queue,
      prefetch: options.prefetch ?? 10,
      logger: this.log,
      onMessage: (msg, handle) => this.handle(msg, handle),
    });
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
    await this.subscription.start();
  }

  /** Messages being handled right now. */
  get active(): number {
    return this.subscription.active;
  }

  get isConsuming(): boolean {
    return this.subscription.isConsuming;
  }

  /** Resolves once the consumer is attached to its queue (after the broker connected). */
  waitUntilConsuming(timeoutMs = 30_000): Promise<void> {
    return this.subscription.waitUntilConsuming(timeoutMs);
  }

  /** Stops taking messages, waits for in-flight handlers (up to timeoutMs), then closes. */
  stop(timeoutMs = 30_000): Promise<void> {
    return this.subscription.stop(timeoutMs);
  }

  private async handle(msg: ConsumeMessage, handle: DeliveryHandle): Promise<void> {
    const started = performance.now();
    let outcome: Outcome = 'requeue';
    let reason: string | undefined;
    try {
      const result = await this.process(msg, handle);
      outcome = result.outcome;
      reason = result.reason;
    } catch (err) {
      // Re-routing failed (broker trouble): give the message back so it is not lost.
      reason = errorMessage(err);
      this.log?.warn({ err: reason }, 'could not settle message; returning it to the queue');
      await delay(500);
      handle.requeue();
    } finally {
      this.options.observer?.onOutcome?.(outcome, {
        queue: this.queue,
        durationMs: performance.now() - started,
        ...(reason ? { reason } : {}),
      });
    }
  }

  private async process(
    msg: ConsumeMessage,
    handle: DeliveryHandle,
  ): Promise<{ outcome: Outcome; reason?: string }> {
    const envelope = readEnvelope(msg);
    const logger = this.log?.child({
      messageId: envelope.messageId,
      orderId: envelope.correlationId,
      attempt: envelope.attempt,
    });
    const admission = admit(msg, envelope, this.options.contracts, {
      maxAttempts: this.policy.maxAttempts,
      logger,
    });
    if (!admission.ok) return this.carryOut(admission.decision, msg, envelope, handle, logger);
    const { delivery } = admission;
    if (this.options.alreadyProcessed && (await this.options.alreadyProcessed(delivery.ctx))) {
      logger?.info('duplicate delivery; effect already happened');
      handle.ack();
      return { outcome: 'duplicate' };
    }
    let result: HandlerResult;
    try {
      result = { returned: await this.options.handler(delivery) };
    } catch (err) {
      result = { threw: err };
    }
    const decision = decide(result, envelope.attempt, this.policy, Math.random);
    return this.carryOut(decision, msg, envelope, handle, logger);
  }

  /** Reroutes when the decision says so (confirmed), tells the observer, then acks. */
  private async carryOut(
    decision: Decision,
    msg: ConsumeMessage,
    envelope: Envelope,
    handle: DeliveryHandle,
    logger: Logger | undefined,
  ): Promise<{ outcome: Outcome; reason?: string }> {
    const about: ObservedMessage = {
      queue: this.queue,
      messageId: envelope.messageId,
      correlationId: envelope.correlationId,
      routingKey: envelope.routingKey,
    };
    switch (decision.action) {
      case 'ack':
        handle.ack();
        return { outcome: 'ack' };
      case 'retry': {
        const { message, delayMs, nextAttempt } = decision;
        await this.rerouter.retry(msg, envelope, decision);
        logger?.warn({ err: message, delayMs, nextAttempt }, 'handler failed; retry scheduled');
        await this.tell('onRetrying', () =>
          this.options.observer?.onRetrying?.({ ...about, attempt: envelope.attempt, delayMs, message }),
        );
        handle.ack();
        return { outcome: 'retry', reason: message };
      }
      case 'dead-letter': {
        const { reason, message, detail, attempts } = decision;
        await this.rerouter.deadLetter(msg, envelope, decision, new Date());
        logger?.error({ reason, detail: message }, 'message dead-lettered');
        await this.tell('onDeadLettered', () =>
          this.options.observer?.onDeadLettered?.({
            ...about,
            attempts,
            reason,
            message,
            ...(detail === undefined ? {} : { detail }),
          }),
        );
        handle.ack();
        return { outcome: 'dead-letter', reason };
      }
    }
  }

  /** The message's fate is settled already; an observer that fails cannot change it. */
  private async tell(hook: string, call: () => void | Promise<void>): Promise<void> {
    try {
      await call();
    } catch (err) {
      this.log?.warn({ err: errorMessage(err), hook }, 'consumer observer failed');
    }
  }
}

function delay(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}
