import { EventEmitter } from 'node:events';
import type { ConsumeMessage, MessageProperties } from 'amqplib';
import type { SubscriptionChannel, SubscriptionConnection } from './queue-subscription.js';

// Stand-ins for the broker's connections and channels in unit tests of the consumer:
// they record what the consumer does and let a test play the broker's part.

/** A channel that records what the subscription does and lets the test play the broker. */
export class FakeChannel extends EventEmitter {
  prefetchCount: number | undefined;
  consumers = new Map<string, (msg: ConsumeMessage | null) => void>();
  cancelled: string[] = [];
  acked: ConsumeMessage[] = [];
  /** Frames the consumer sent: one per ack call, `multiple` when it covered older deliveries too. */
  ackFrames: { tag: number; multiple: boolean }[] = [];
  /** Acks of a tag the channel did not hold unacked (a broker closes the channel for these). */
  unknownAcks: number[] = [];
  private unacked = new Map<number, ConsumeMessage>();
  closed = false;
  private tags = 0;

  constructor(readonly id: number) {
    super();
  }

  async prefetch(count: number) {
    this.prefetchCount = count;
    return {};
  }

  async consume(queue: string, onMessage: (msg: ConsumeMessage | null) => void) {
    this.assertOpen();
    const consumerTag = `${queue}-${this.id}-${++this.tags}`;
    this.consumers.set(consumerTag, onMessage);
    return { consumerTag };
  }

  async cancel(tag: string) {
    this.cancelled.push(tag);
    this.consumers.delete(tag);
    return { consumerTag: tag };
  }

  async close() {
    this.assertOpen();
    this.closeByBroker();
  }

  ack(msg: ConsumeMessage, allUpTo = false) {
    this.assertOpen();
    const tag = msg.fields.deliveryTag;
    this.ackFrames.push({ tag, multiple: allUpTo });
    if (!this.unacked.has(tag)) {
      this.unknownAcks.push(tag);
      throw new Error(`PRECONDITION_FAILED - unknown delivery tag ${tag}`);
    }
    for (const [t, m] of this.unacked) {
      if (t === tag || (allUpTo && t < tag)) {
        this.unacked.delete(t);
        this.acked.push(m);
      }
    }
  }

  /** Hands a message to the one active consumer. */
  deliver(
    tag: number,
    parts: { content?: Buffer; properties?: Partial<MessageProperties>; routingKey?: string } = {},
  ): ConsumeMessage {
    const msg = {
      fields: {
        deliveryTag: tag,
        redelivered: false,
        exchange: '',
        routingKey: parts.routingKey ?? '',
        consumerTag: '',
      },
      // amqplib types every property as present; a broker leaves unset ones undefined.
      properties: { headers: undefined, ...parts.properties } as MessageProperties,
      content: parts.content ?? Buffer.from('{}'),
    };
    this.unacked.set(tag, msg);
    this.activeConsumer()(msg);
    return msg;
  }

  /** The broker cancels the consumer (its queue was deleted, a node went away). */
  cancelByBroker() {
    const [tag, fn] = [...this.consumers][0]!;
    this.consumers.delete(tag);
    fn(null);
  }

  closeByBroker() {
    this.closed = true;
    this.consumers.clear();
    this.emit('close');
  }

  get consuming(): boolean {
    return this.consumers.size > 0;
  }

  private activeConsumer() {
    const all = [...this.consumers.values()];
    if (all.length !== 1) throw new Error(`${all.length} consumers on channel ${this.id}`);
    return all[0]!;
  }

  private assertOpen() {
    if (this.closed) throw new Error('channel closed');
  }
}

export class FakeConnection implements SubscriptionConnection {
  channels: FakeChannel[] = [];
  failNext = 0;

  constructor(private readonly firstId: number) {}

  async createChannel(): Promise<SubscriptionChannel> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('channel_max reached');
    }
    const ch = new FakeChannel(this.firstId + this.channels.length);
    this.channels.push(ch);
    return ch;
  }

  get last(): FakeChannel {
    const ch = this.channels.at(-1);
    if (!ch) throw new Error('no channel opened');
    return ch;
  }
}

/** Plays the Broker: the current connection, and 'connected' on every (re)connection. */
export class FakeSource extends EventEmitter<{ connected: [SubscriptionConnection] }> {
  current: FakeConnection | null = null;
  private connections = 0;

  connection() {
    return this.current;
  }

  connect(): FakeConnection {
    this.current = new FakeConnection(++this.connections * 100);
    this.emit('connected', this.current);
    return this.current;
  }

  disconnect(): void {
    for (const ch of this.current?.channels ?? []) if (!ch.closed) ch.closeByBroker();
    this.current = null;
  }
}
