import type { Channel, ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import { errorMessage } from './errors.js';

/** The channel operations a subscription uses (an amqplib channel has them). */
export interface SubscriptionChannel extends Pick<
  Channel,
  'prefetch' | 'consume' | 'cancel' | 'close' | 'ack' | 'nack'
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
 */
export interface DeliveryHandle {
  ack(): void;
  /** Gives the message back to the queue for another delivery. */
  requeue(): void;
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
  private started = false;
  private reattachTimer: NodeJS.Timeout | null = null;
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
    if (this.stopping || this.consumerTag) return;
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
      if (this.stopping) {
        // stop() ran while the consume was under way and saw no tag to cancel.
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
    const handle: DeliveryHandle = {
      ack: () => settleQuietly(() => ch.ack(msg)),
      requeue: () => settleQuietly(() => ch.nack(msg, false, true)),
    };
    this.inFlight++;
    void this.options
      .onMessage(msg, handle)
      .catch((err: unknown) => this.log?.error({ err: errorMessage(err) }, 'delivery handler failed'))
      .finally(() => {
        this.inFlight--;
        if (this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w();
      });
  }

  private scheduleReattach(): void {
    if (this.stopping || this.reattachTimer) return;
    this.reattachTimer = setTimeout(() => {
      this.reattachTimer = null;
      if (this.consumerTag || this.attaching) return;
      if (this.channel) {
        void this.consume(this.channel);
        return;
      }
      const conn = this.source.connection();
      if (conn) void this.attach(conn);
    }, this.options.reattachDelayMs ?? 1_000);
  }
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
