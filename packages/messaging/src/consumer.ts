import { context, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import type { Span } from '@opentelemetry/api';
import { ALL_EXCHANGES, HEADERS } from '@notify/contracts';
import type { ConsumerTopology, Contract } from '@notify/contracts';
import type { ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import { DEFAULT_RETRY_POLICY } from './backoff.js';
import type { PausePolicy, RetryPolicy } from './backoff.js';
import type { Broker } from './broker.js';
import { DependencyUnavailableError, errorMessage } from './errors.js';
import type { Fate } from './fate.js';
import type { ConsumerObserver, DeadLetteredInfo, ObservedMessage, Outcome } from './observer.js';
import { OutagePause } from './pause.js';
import type { AttemptResult, ConsumerStatus, Outage } from './pause.js';
import { identityTrust } from './identity.js';
import type { IdentityTrust } from './identity.js';
import type { Publisher } from './publisher.js';
import { QueueSubscription } from './queue-subscription.js';
import type { ConnectionSource, DeliveryHandle } from './queue-subscription.js';
import { Rerouter } from './reroute.js';
import { failSpan, startProcessSpan } from './spans.js';
import { contextOfTraceparent, traceparentOf } from './trace.js';
import { admit, decide, readEnvelope } from './settle.js';
import { WindowCollector } from './window.js';
import type { Pending, WindowOptions } from './window.js';
import type {
  DeadLetterDecision,
  Decision,
  Delivery,
  Envelope,
  HandlerResult,
  MessageContext,
} from './settle.js';

// What a handler deals with, exported here too for those who import the runner alone.
export type { Delivery, MessageContext } from './settle.js';

/**
 * What the runner needs of the Broker: its connections, declaring the queue's topology,
 * and the broker user it consumes and republishes as.
 */
export type ConsumerBroker = ConnectionSource & Pick<Broker, 'addTopology' | 'user'>;

export interface ConsumerOptions<C extends Contract> {
  readonly topology: ConsumerTopology;
  /** The contracts this queue carries; the AMQP `type` property (and routing key) picks one. */
  readonly contracts: readonly C[];
  /**
   * Decides the message's fate by what it returns (nothing means ack). A throw is an
   * unexpected failure: PermanentError dead-letters, DependencyUnavailableError pauses
   * like the unavailable fate, anything else retries.
   */
  readonly handler: (delivery: Delivery<C>) => Promise<Fate | void>;
  /** Publisher used for retries and dead letters. */
  readonly publisher: Pick<Publisher, 'publishRaw'>;
  readonly prefetch?: number;
  readonly retry?: Partial<RetryPolicy>;
  /**
   * Idempotency hook: return true to ack a message whose effect already happened. A
   * throw is an outage of the store it reads: DependencyUnavailableError names it,
   * anything else counts as the database.
   */
  readonly alreadyProcessed?: (ctx: MessageContext) => Promise<boolean>;
  /** How long a consumer paused by an outage waits between tries (tests shorten it). */
  readonly pause?: Partial<PausePolicy>;
  /** Told of every outcome, retry and dead letter (metrics, the application's status events). */
  readonly observer?: ConsumerObserver;
  /**
   * Broker users besides the consumer's own whose publishes to its retry exchange carry a
   * believable x-published-by (the operator's replay, when another user does it).
   */
  readonly trustedRepublishers?: readonly string[];
  readonly logger?: Logger;
  /**
   * Settles the deliveries that arrive together as one window (window.ts); without it,
   * every delivery is settled on its own. `handler` stays the per-message path, for
   * windows of one and for the messages a failed window isolates.
   */
  readonly window?: WindowOptions<C>;
}

/** How one delivery ended, for the observer. */
interface Settled {
  readonly outcome: Outcome;
  readonly reason?: string;
}

/** One delivery on its way: what every step of settling it needs. */
interface InFlight {
  readonly msg: ConsumeMessage;
  readonly envelope: Envelope;
  readonly handle: DeliveryHandle;
  readonly logger: Logger | undefined;
  /** The process span's, when one is recorded: what the handler's own messages continue. */
  readonly traceparent: string | undefined;
  readonly span: Span;
  /** performance.now() when it arrived. */
  readonly started: number;
}

/** A delivery that passed admission, on its way through a window. */
interface Admitted<C extends Contract> {
  readonly d: InFlight;
  readonly delivery: Delivery<C>;
}

/** Who is down when the idempotency check fails: the service's database, unless it says. */
const IDEMPOTENCY_STORE = 'database';
/** Who is down when a reroute or the dead-lettered event is not confirmed. */
const BROKER = 'broker';

/**
 * Runs a handler over a durable quorum queue with manual acks. Invalid messages go to
 * the dead-letter queue at once; handler failures are retried through delay queues with
 * exponential backoff and jitter, a bounded number of times, then dead-lettered. A
 * message is acked only after its fate is settled (handled, or re-published and
 * confirmed elsewhere), so a crash at any point leads to redelivery, never to loss.
 *
 * An outage (the handler says a dependency is unavailable, or settling cannot finish:
 * the idempotency check fails, a reroute or the dead-lettered event is not confirmed)
 * pauses consumption: the consumer is cancelled, the messages it caught are held
 * unacknowledged and tried again with backoff from where they stopped, and consuming
 * starts again once they went through. Nothing is given back to the queue for it.
 *
 * The jobs live apart: the subscription keeps the channel consuming, `settle` decides
 * every message's fate without touching the broker, the rerouter moves messages to the
 * retry and dead-letter exchanges, the pause holds what an outage caught, and the
 * observer tells the application.
 */
export class Consumer<C extends Contract> {
  private readonly policy: RetryPolicy;
  private readonly log: Logger | undefined;
  private readonly queue: string;
  private readonly subscription: QueueSubscription;
  private readonly rerouter: Rerouter;
  private readonly trust: IdentityTrust;
  private readonly pause: OutagePause<Settled>;
  private started = false;

  constructor(
    private readonly broker: ConsumerBroker,
    private readonly options: ConsumerOptions<C>,
  ) {
    this.policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.queue = options.topology.queue.name;
    this.log = options.logger?.child({ component: 'consumer', queue: this.queue });
    this.rerouter = new Rerouter(options.publisher, options.topology);
    this.trust = identityTrust(options.topology, [broker.user, ...(options.trustedRepublishers ?? [])]);
    const prefetch = options.prefetch ?? 10;
    const windows = options.window
      ? // Half the prefetch by default: one window settles while the next one fills.
        new WindowCollector(options.window.size ?? Math.ceil(prefetch / 2), (w) => this.handleWindow(w))
      : undefined;
    this.subscription = new QueueSubscription(broker, {
      queue: this.queue,
      prefetch,
      logger: this.log,
      onMessage: windows
        ? (msg, handle) => windows.add(msg, handle)
        : (msg, handle) => this.finish(this.arrived(msg, handle), (d) => this.begin(d)),
    });
    this.pause = new OutagePause<Settled>({
      stopConsuming: () => this.subscription.pause(),
      startConsuming: () => this.subscription.resume(),
      ...(options.pause ? { policy: options.pause } : {}),
      logger: this.log,
    });
  }

  /** Declares the queue's topology and starts consuming (now, and after every reconnect). */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const t = this.options.topology;
    await this.broker.addTopology({
      exchanges: [...ALL_EXCHANGES, ...t.exchanges],
      queues: t.queues,
      bindings: t.bindings,
    });
    await this.subscription.start();
  }

  /** Messages being handled right now, those an outage holds included. */
  get active(): number {
    return this.subscription.active;
  }

  get isConsuming(): boolean {
    return this.subscription.isConsuming;
  }

  /** Consuming, or paused by an outage (which dependency, why, since when, holding how many). */
  get status(): ConsumerStatus {
    return this.pause.status;
  }

  /** Resolves once the consumer is attached to its queue (after the broker connected). */
  waitUntilConsuming(timeoutMs = 30_000): Promise<void> {
    return this.subscription.waitUntilConsuming(timeoutMs);
  }

  /**
   * Stops taking messages, waits for in-flight handlers (up to timeoutMs), then closes.
   * Messages an outage holds are let go at once: closing the channel gives them back.
   */
  async stop(timeoutMs = 30_000): Promise<void> {
    await this.pause.stop();
    await this.subscription.stop(timeoutMs);
  }

  /** Reads a delivery's envelope and opens its process span, continuing the publisher's trace. */
  private arrived(msg: ConsumeMessage, handle: DeliveryHandle): InFlight {
    const started = performance.now();
    const envelope = readEnvelope(msg, this.trust);
    const header: unknown = msg.properties.headers?.[HEADERS.traceparent];
    const span = startProcessSpan(
      this.queue,
      {
        exchange: msg.fields.exchange,
        routingKey: envelope.routingKey,
        messageId: envelope.messageId,
        correlationId: envelope.correlationId,
      },
      contextOfTraceparent(typeof header === 'string' ? header : undefined),
    );
    // Everything the handler does (queries, the events it publishes, its log lines) happens
    // in this span, which is the parent the handler hands on.
    const traceparent = span.isRecording() ? traceparentOf(span.spanContext()) : undefined;
    const logger = this.log?.child({
      messageId: envelope.messageId,
      orderId: envelope.correlationId,
      attempt: envelope.attempt,
    });
    return { msg, envelope, handle, logger, traceparent, span, started };
  }

  /**
   * Settles one delivery from `first` on, in its span: an outage holds it (the pause tries
   * what is left until it goes through); then the observer hears how it ended.
   */
  private async finish(d: InFlight, first: (d: InFlight) => Promise<AttemptResult<Settled>>): Promise<void> {
    try {
      const outcome = await context.with(trace.setSpan(ROOT_CONTEXT, d.span), async () => {
        let settled: Settled | undefined;
        const result = await first(d);
        if ('done' in result) settled = result.done;
        else {
          d.logger?.warn({ ...result.outage }, 'dependency unavailable; holding the message');
          settled = await this.pause.hold(result.outage, result.next, d.handle);
        }
        const { outcome, reason } = settled ?? { outcome: 'returned' as const };
        this.options.observer?.onOutcome?.(outcome, {
          queue: this.queue,
          durationMs: performance.now() - d.started,
          ...(reason ? { reason } : {}),
        });
        return outcome;
      });
      d.span.setAttribute('notify.outcome', outcome);
    } catch (err) {
      failSpan(d.span, err);
      throw err;
    } finally {
      d.span.end();
    }
  }

  /**
   * Settles a window: refused messages are dead-lettered each alone, the idempotency check
   * covers the rest in one call, the window handler does their work as one unit, and
   * every message then follows its own fate. The acked ones go in as few ack frames as the
   * channel allows; a retry, dead letter or outage concerns only its own message. When
   * the check or the window handler fails, nothing was settled and each message is
   * handled alone, so one bad message cannot fail, delay or duplicate its neighbours.
   */
  private async handleWindow(window: readonly Pending[]): Promise<void> {
    const entries = window.map((p) => this.arrived(p.msg, p.handle));
    if (entries.length === 1) return this.finish(entries[0]!, (d) => this.begin(d));
    const work: Promise<void>[] = [];
    const admitted: Admitted<C>[] = [];
    for (const d of entries) {
      const admission = this.admitOne(d);
      if (admission.ok) admitted.push({ d, delivery: admission.delivery });
      else work.push(this.finish(d, () => this.carryOut(d, admission.decision)));
    }
    work.push(this.settleAdmitted(admitted));
    const results = await Promise.allSettled(work);
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** Tells the observer a window fell back to per-message handling; an observer's error is only logged. */
  private windowFailed(stage: 'check' | 'handler', size: number, err: unknown): void {
    try {
      this.options.observer?.onWindowFailed?.({ queue: this.queue, stage, size, reason: errorMessage(err) });
    } catch (observerErr) {
      this.log?.warn({ err: errorMessage(observerErr), hook: 'onWindowFailed' }, 'consumer observer failed');
    }
  }

  private async settleAdmitted(admitted: readonly Admitted<C>[]): Promise<void> {
    const window = this.options.window;
    if (admitted.length === 0 || !window) return;
    const alone = (list: readonly Admitted<C>[]) =>
      list.map((a) => this.finish(a.d, () => this.handleValid(a.d, a.delivery)));
    let done: ReadonlySet<string>;
    try {
      done = await this.processedAmong(admitted);
    } catch (err) {
      this.log?.warn(
        { err: errorMessage(err), size: admitted.length },
        'window idempotency check failed; settling each message alone',
      );
      this.windowFailed('check', admitted.length, err);
      await Promise.all(alone(admitted));
      return;
    }
    const duplicates = admitted.filter((a) => done.has(a.delivery.ctx.messageId));
    const fresh = admitted.filter((a) => !done.has(a.delivery.ctx.messageId));
    for (const a of duplicates) a.d.logger?.info('duplicate delivery; effect already happened');
    let fates: readonly (Fate | void)[] = [];
    if (fresh.length > 0) {
      try {
        fates = await window.handle(fresh.map((a) => a.delivery));
        if (fates.length !== fresh.length) {
          throw new Error(`window handler answered ${fates.length} fates for ${fresh.length} messages`);
        }
      } catch (err) {
        this.log?.warn(
          { err: errorMessage(err), size: fresh.length },
          'window failed; settling each message alone',
        );
        this.windowFailed('handler', fresh.length, err);
        this.ackTogether(duplicates);
        await Promise.all([...this.finishAll(duplicates, 'duplicate'), ...alone(fresh)]);
        return;
      }
    }
    const acked: Admitted<C>[] = [];
    const work: Promise<void>[] = [];
    fresh.forEach((a, i) => {
      const decision = decide({ returned: fates[i] }, a.d.envelope.attempt, this.policy, Math.random);
      if (decision.action === 'ack') acked.push(a);
      else if (decision.action === 'hold') {
        const outage = { dependency: decision.dependency, reason: decision.reason };
        work.push(this.finish(a.d, async () => ({ outage, next: () => this.handleValid(a.d, a.delivery) })));
      } else work.push(this.finish(a.d, () => this.carryOut(a.d, decision)));
    });
    this.ackTogether([...duplicates, ...acked]);
    await Promise.all([...this.finishAll(duplicates, 'duplicate'), ...this.finishAll(acked, 'ack'), ...work]);
  }

  /** The admitted messages whose effect already happened: the window's check, or each one's. */
  private async processedAmong(admitted: readonly Admitted<C>[]): Promise<ReadonlySet<string>> {
    const ctxs = admitted.map((a) => a.delivery.ctx);
    const windowCheck = this.options.window?.alreadyProcessed;
    if (windowCheck) return windowCheck(ctxs);
    const check = this.options.alreadyProcessed;
    if (!check) return new Set();
    const answers = await Promise.all(ctxs.map((ctx) => check(ctx)));
    return new Set(ctxs.filter((_, i) => answers[i]).map((ctx) => ctx.messageId));
  }

  private ackTogether(list: readonly Admitted<C>[]): void {
    this.subscription.ackAll(list.map((a) => a.d.handle));
  }

  private finishAll(list: readonly Admitted<C>[], outcome: 'ack' | 'duplicate'): Promise<void>[] {
    return list.map((a) => this.finish(a.d, async () => ({ done: { outcome } })));
  }

  private admitOne(d: InFlight) {
    return admit(d.msg, d.envelope, this.options.contracts, {
      maxAttempts: this.policy.maxAttempts,
      logger: d.logger,
      traceparent: d.traceparent,
    });
  }

  private async begin(d: InFlight): Promise<AttemptResult<Settled>> {
    const admission = this.admitOne(d);
    if (!admission.ok) return this.carryOut(d, admission.decision);
    return this.handleValid(d, admission.delivery);
  }

  /** The idempotency check, the handler, and what its answer decides. */
  private async handleValid(d: InFlight, delivery: Delivery<C>): Promise<AttemptResult<Settled>> {
    const again = () => this.handleValid(d, delivery);
    if (this.options.alreadyProcessed) {
      let duplicate: boolean;
      try {
        duplicate = await this.options.alreadyProcessed(delivery.ctx);
      } catch (err) {
        return { outage: outageOf(err, IDEMPOTENCY_STORE), next: again };
      }
      if (duplicate) {
        d.logger?.info('duplicate delivery; effect already happened');
        d.handle.ack();
        return { done: { outcome: 'duplicate' } };
      }
    }
    let result: HandlerResult;
    try {
      result = { returned: await this.options.handler(delivery) };
    } catch (err) {
      result = { threw: err };
    }
    const decision = decide(result, d.envelope.attempt, this.policy, Math.random);
    if (decision.action === 'hold') {
      return { outage: { dependency: decision.dependency, reason: decision.reason }, next: again };
    }
    return this.carryOut(d, decision);
  }

  /** Reroutes when the decision says so (confirmed), tells the observer, then acks. */
  private async carryOut(
    d: InFlight,
    decision: Exclude<Decision, { action: 'hold' }>,
  ): Promise<AttemptResult<Settled>> {
    const { msg, envelope, handle, logger } = d;
    const again = () => this.carryOut(d, decision);
    switch (decision.action) {
      case 'ack':
        handle.ack();
        return { done: { outcome: 'ack' } };
      case 'retry': {
        const { message, delayMs, nextAttempt } = decision;
        try {
          await this.rerouter.retry(msg, envelope, decision);
        } catch (err) {
          return { outage: outageOf(err, BROKER), next: again };
        }
        logger?.warn({ err: message, delayMs, nextAttempt }, 'handler failed; retry scheduled');
        try {
          await this.options.observer?.onRetrying?.({
            ...this.about(envelope),
            attempt: envelope.attempt,
            delayMs,
            message,
          });
        } catch (err) {
          // The retry is confirmed; an event that says so is not worth holding it for.
          this.log?.warn({ err: errorMessage(err), hook: 'onRetrying' }, 'consumer observer failed');
        }
        handle.ack();
        return { done: { outcome: 'retry', reason: message } };
      }
      case 'dead-letter': {
        try {
          await this.rerouter.deadLetter(msg, envelope, decision, new Date());
        } catch (err) {
          return { outage: outageOf(err, BROKER), next: again };
        }
        logger?.error({ reason: decision.reason, detail: decision.message }, 'message dead-lettered');
        return this.tellDeadLettered(d, decision);
      }
    }
  }

  /**
   * The dead letter is confirmed; the message is acked only once the application was
   * told too (its dead-lettered event published), so the event is never lost.
   */
  private async tellDeadLettered(d: InFlight, decision: DeadLetterDecision): Promise<AttemptResult<Settled>> {
    const { reason, message, detail, attempts } = decision;
    const info: DeadLetteredInfo = {
      ...this.about(d.envelope),
      attempts,
      reason,
      message,
      ...(detail === undefined ? {} : { detail }),
    };
    try {
      await this.options.observer?.onDeadLettered?.(info);
    } catch (err) {
      return { outage: outageOf(err, BROKER), next: () => this.tellDeadLettered(d, decision) };
    }
    d.handle.ack();
    return { done: { outcome: 'dead-letter', reason } };
  }

  private about(envelope: Envelope): ObservedMessage {
    return {
      queue: this.queue,
      messageId: envelope.messageId,
      correlationId: envelope.correlationId,
      routingKey: envelope.routingKey,
    };
  }
}

function outageOf(err: unknown, dependency: string): Outage {
  if (err instanceof DependencyUnavailableError) return { dependency: err.dependency, reason: err.message };
  return { dependency, reason: errorMessage(err) };
}
