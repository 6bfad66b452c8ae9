import type { Channel, ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import { errorMessage } from './errors.js';

/** The channel operations a subscription uses (an amqplib channel has them). */
export interface SubscriptionChannel extends Pick<
  Channel,
  'prefetch' | 'consume' | 'cancel' | 'close' | 'ack'
> {
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
}

export interface SubscriptionConnection {
  createChannel(): Promise<SubscriptionChannel>;
}

/** Where connections come from: the Broker, which announces every (re)connection. */
export interface ConnectionSource {
  connection(): SubscriptionConnection | null;
  on(event: 'connected', listener: (conn: SubscriptionConnection) => void): unknown;
  off(event: 'connected', listener: (conn: SubscriptionConnection) => void): unknown;
}

/**
 * Settles one delivery on the channel it arrived on. Once that channel has closed, the
 * broker already gave the message back to the queue, so settling it does nothing.
 *
 * There is no way to give a message back: RabbitMQ 4.0 counts every return toward the
 * queue's delivery limit, so a message is only ever acked after its fate is settled, or
 * returned by the broker when its channel closes.
 */
export interface DeliveryHandle {
  ack(): void;
  /** True once the channel it came on has closed: the broker has the message back. */
  readonly returned: boolean;
}

export interface QueueSubscriptionOptions {
  readonly queue: string;
  readonly prefetch: number;
  /**
   * Takes one delivery; the subscription counts it in flight until the promise settles,
   * and `stop` waits for that.
   */
  readonly onMessage: (msg: ConsumeMessage, handle: DeliveryHandle) => Promise<void>;
  readonly logger?: Logger | undefined;
  /** Wait before consuming again after a failed attach or a broker cancel. */
  readonly reattachDelayMs?: number;
}

/**
 * Keeps one consumer on a queue for as long as it runs: a channel of its own with the
 * prefetch window, consuming again after every reconnect and after the broker cancels
 * it, and on stop cancelling, waiting for work in flight, then closing the channel.
 *
 * Opening the channel and consuming on it are separate steps on purpose: consumption
 * can stop and start again on the same channel, which keeps the messages it holds.
 */
export class QueueSubscription {
  private channel: SubscriptionChannel | null = null;
  private consumerTag: string | null = null;
  private attaching = false;
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];
  private stopping = false;
  private paused = false;
  private started = false;
  private reattachTimer: NodeJS.Timeout | null = null;
  /** Per channel, its deliveries not yet acked, oldest first (delivery tags only grow). */
  private readonly unsettled = new WeakMap<SubscriptionChannel, Map<number, TrackedDelivery>>();
  /** Channels that closed: the broker took back what they held. */
  private readonly closedChannels = new WeakSet<SubscriptionChannel>();
  private readonly log: Logger | undefined;
  private readonly onConnected = (conn: SubscriptionConnection) => {
    // The old channel went down with the old connection; its messages are back in the queue.
    this.channel = null;
    this.consumerTag = null;
    void this.attach(conn);
  };

  constructor(
    private readonly source: ConnectionSource,
    private readonly options: QueueSubscriptionOptions,
  ) {
    this.log = options.logger;
  }

  /** Consumes now if connected, and after every reconnect. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.source.on('connected', this.onConnected);
    const conn = this.source.connection();
    if (conn) await this.attach(conn);
  }

  /** Deliveries taken and not yet settled. */
  get active(): number {
    return this.inFlight;
  }

  get isConsuming(): boolean {
    return this.consumerTag !== null;
  }

  /**
   * Stops new deliveries (cancels the consumer) and keeps the channel, so the messages
   * it holds stay held, unacknowledged, until they are settled or the channel closes.
   * While paused, a reconnect opens a channel but does not consume on it.
   */
  async pause(): Promise<void> {
    this.paused = true;
    const ch = this.channel;
    const tag = this.consumerTag;
    this.consumerTag = null;
    if (ch && tag) await ch.cancel(tag).catch(() => {});
  }

  /** Consumes again after pause(), on the channel it kept when there is one. */
  async resume(): Promise<void> {
    if (!this.paused) return;
    this.paused = false;
    if (this.stopping || this.attaching) return;
    if (this.channel) {
      await this.consume(this.channel);
      return;
    }
    const conn = this.source.connection();
    if (conn) await this.attach(conn);
  }

  /** Resolves once consuming (after the broker connected). */
  async waitUntilConsuming(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.isConsuming) {
      if (this.stopping) throw new Error(`consumer of ${this.options.queue} is stopped`);
      if (Date.now() > deadline)
        throw new Error(`consumer of ${this.options.queue} not attached within ${timeoutMs} ms`);
      await delay(25);
    }
  }

  /** Stops taking messages, waits for work in flight (up to timeoutMs), then closes the channel. */
  async stop(timeoutMs = 30_000): Promise<void> {
    this.stopping = true;
    this.source.off('connected', this.onConnected);
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

  private async attach(conn: SubscriptionConnection): Promise<void> {
    if (this.stopping) return;
    this.attaching = true;
    try {
      const ch = await this.openChannel(conn);
      if (ch) await this.consume(ch);
    } finally {
      this.attaching = false;
    }
  }

  private async openChannel(conn: SubscriptionConnection): Promise<SubscriptionChannel | null> {
    try {
      const ch = await conn.createChannel();
      ch.on('error', (err: Error) => this.log?.warn({ err: errorMessage(err) }, 'consumer channel error'));
      ch.on('close', () => {
        this.closedChannels.add(ch);
        if (this.channel !== ch) return;
        this.channel = null;
        this.consumerTag = null;
        this.scheduleReattach();
      });
      await ch.prefetch(this.options.prefetch);
      if (this.stopping) {
        await ch.close().catch(() => {});
        return null;
      }
      this.channel = ch;
      return ch;
    } catch (err) {
      this.log?.warn({ err: errorMessage(err) }, 'could not open a consumer channel; will retry');
      this.scheduleReattach();
      return null;
    }
  }

  private async consume(ch: SubscriptionChannel): Promise<void> {
    if (this.stopping || this.paused || this.consumerTag) return;
    try {
      const { consumerTag } = await ch.consume(
        this.options.queue,
        (msg) => {
          if (msg === null) {
            // The broker cancelled us (queue deleted or a node went away); the channel
            // stays open with the messages it holds, so consume on it again.
            this.consumerTag = null;
            this.scheduleReattach();
            return;
          }
          this.deliver(ch, msg);
        },
        { noAck: false },
      );
      if (this.stopping || this.paused) {
        // stop() or pause() ran while the consume was under way and saw no tag to cancel.
        await ch.cancel(consumerTag).catch(() => {});
        return;
      }
      this.consumerTag = consumerTag;
      this.log?.info({ prefetch: this.options.prefetch }, 'consuming');
    } catch (err) {
      this.log?.warn({ err: errorMessage(err) }, 'could not start consuming; will retry');
      this.scheduleReattach();
    }
  }

  private deliver(ch: SubscriptionChannel, msg: ConsumeMessage): void {
    let unsettled = this.unsettled.get(ch);
    if (!unsettled) {
      unsettled = new Map();
      this.unsettled.set(ch, unsettled);
    }
    const handle = new TrackedDelivery(ch, msg, unsettled, this.closedChannels);
    this.inFlight++;
    void this.options
      .onMessage(msg, handle)
      .catch((err: unknown) => this.log?.error({ err: errorMessage(err) }, 'delivery handler failed'))
      .finally(() => {
        this.inFlight--;
        if (this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w();
      });
  }

  /**
   * Acks many deliveries with as few frames as the channel allows: the ones that are the
   * oldest unsettled deliveries on their channel go in one ack with `multiple` (it acks
   * every delivery up to its tag, so it may only cover settled ones); any other is acked
   * on its own. Deliveries whose channel closed are skipped: the broker has them back.
   */
  ackAll(handles: readonly DeliveryHandle[]): void {
    const byChannel = new Map<SubscriptionChannel, TrackedDelivery[]>();
    for (const h of handles) {
      if (!(h instanceof TrackedDelivery)) {
        h.ack();
        continue;
      }
      const group = byChannel.get(h.channel) ?? [];
      group.push(h);
      byChannel.set(h.channel, group);
    }
    for (const group of byChannel.values()) ackGroup(group);
  }
  private scheduleReattach(): void {
    if (this.stopping || this.reattachTimer) return;
    this.reattachTimer = setTimeout(() => {
      this.reattachTimer = null;
      if (this.consumerTag || this.attaching || this.paused) return;
      if (this.channel) {
        void this.consume(this.channel);
        return;
      }
      const conn = this.source.connection();
      if (conn) void this.attach(conn);
    }, this.options.reattachDelayMs ?? 1_000);
  }
}

/** One delivery and the channel it came on; acking it takes it off the channel's unsettled list. */
class TrackedDelivery implements DeliveryHandle {
  constructor(
    readonly channel: SubscriptionChannel,
    readonly msg: ConsumeMessage,
    private readonly unsettled: Map<number, TrackedDelivery>,
    private readonly closed: WeakSet<SubscriptionChannel>,
  ) {
    unsettled.set(msg.fields.deliveryTag, this);
  }

  get tag(): number {
    return this.msg.fields.deliveryTag;
  }

  get returned(): boolean {
    return this.closed.has(this.channel);
  }

  get settled(): boolean {
    return !this.unsettled.has(this.tag);
  }

  ack(): void {
    if (this.settled) return;
    this.unsettled.delete(this.tag);
    settleQuietly(() => this.channel.ack(this.msg));
  }

  /** Acks this delivery and every older one on its channel; the caller settled them all. */
  ackUpToHere(covered: readonly TrackedDelivery[]): void {
    for (const d of covered) this.unsettled.delete(d.tag);
    settleQuietly(() => this.channel.ack(this.msg, true));
  }

  /** The channel's unsettled deliveries, oldest first. */
  oldestUnsettled(): IterableIterator<TrackedDelivery> {
    return this.unsettled.values();
  }
}

/** Acks deliveries of one channel: the oldest unsettled run in one `multiple` ack, the rest alone. */
function ackGroup(group: readonly TrackedDelivery[]): void {
  const pending = group.filter((d) => !d.settled && !d.returned);
  if (pending.length === 0) return;
  const mine = new Set(pending);
  const run: TrackedDelivery[] = [];
  for (const d of pending[0]!.oldestUnsettled()) {
    if (!mine.has(d)) break;
    run.push(d);
  }
  if (run.length > 1) run.at(-1)!.ackUpToHere(run);
  for (const d of pending) if (!d.settled) d.ack();
}

function settleQuietly(fn: () => void): void {
  try {
    fn();
  } catch {
    // The channel closed under us; the broker redelivers the message.
  }
}

function delay(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}
