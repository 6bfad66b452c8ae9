import { EXCHANGES, HEADERS } from '@notify/contracts';
import amqplib from 'amqplib';
import type { ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';

// A plain amqplib client, deliberately not @notify/messaging: the poison scenario must
// publish what the system's own publisher would refuse to send, and the suite reads
// dead-letter queues and outcome events the way a foreign operator tool would.

export interface RawMessage {
  readonly routingKey: string;
  readonly content: Buffer;
  readonly messageId?: string;
  readonly correlationId?: string;
  readonly type?: string;
}

export interface DeadLetter {
  readonly queue: string;
  readonly messageId: string | undefined;
  readonly correlationId: string | undefined;
  readonly reason: string | undefined;
  readonly detail: string | undefined;
  /** x-death-at as ms since epoch. */
  readonly at: number | undefined;
}

export class RawAmqp {
  private constructor(
    private readonly conn: ChannelModel,
    private readonly ch: ConfirmChannel,
  ) {}

  static async connect(url: string): Promise<RawAmqp> {
    const conn = await amqplib.connect(url, { clientProperties: { connection_name: 'fault-suite' } });
    conn.on('error', () => undefined);
    const ch = await conn.createConfirmChannel();
    ch.on('error', () => undefined);
    return new RawAmqp(conn, ch);
  }

  /** Publishes straight to the `notification` exchange, persistent, and waits for the confirm. */
  async publishNotification(m: RawMessage): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.ch.publish(
        EXCHANGES.notification.name,
        m.routingKey,
        m.content,
        {
          persistent: true,
          contentType: 'application/json',
          ...(m.messageId ? { messageId: m.messageId } : {}),
          ...(m.correlationId ? { correlationId: m.correlationId } : {}),
          ...(m.type ? { type: m.type } : {}),
          timestamp: Math.floor(Date.now() / 1000),
          appId: 'fault-suite',
        },
        (err) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve()),
      );
    });
  }

  /** Takes every message currently in a dead-letter queue (they are removed). */
  async drainDeadLetters(queue: string): Promise<DeadLetter[]> {
    const out: DeadLetter[] = [];
    for (;;) {
      const msg = await this.ch.get(queue, { noAck: true });
      if (!msg) return out;
      const h = (msg.properties.headers ?? {}) as Record<string, unknown>;
      const at = typeof h[HEADERS.deathAt] === 'string' ? Date.parse(h[HEADERS.deathAt] as string) : NaN;
      out.push({
        queue,
        messageId: msg.properties.messageId as string | undefined,
        correlationId: msg.properties.correlationId as string | undefined,
        reason: h[HEADERS.deathReason] as string | undefined,
        detail: h[HEADERS.deathDetail] as string | undefined,
        at: Number.isNaN(at) ? undefined : at,
      });
    }
  }

  /**
   * Copies of the outcome events with the given routing keys, from now on, through a
   * server-named exclusive queue of this connection (gone when the connection closes).
   */
  async tapEvents(routingKeys: readonly string[]): Promise<{ events: { key: string; body: unknown }[] }> {
    const tap = { events: [] as { key: string; body: unknown }[] };
    const ch = await this.conn.createChannel();
    ch.on('error', () => undefined);
    const q = await ch.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
    for (const key of routingKeys) await ch.bindQueue(q.queue, EXCHANGES.events.name, key);
    await ch.consume(
      q.queue,
      (msg: ConsumeMessage | null) => {
        if (!msg) return;
        try {
          tap.events.push({ key: msg.fields.routingKey, body: JSON.parse(msg.content.toString('utf8')) });
        } catch {
          tap.events.push({ key: msg.fields.routingKey, body: undefined });
        }
      },
      { noAck: true },
    );
    return tap;
  }

  /** Ready messages in a queue (passive declare; unacked ones are not counted). */
  async ready(queue: string): Promise<number> {
    const ch = await this.conn.createChannel();
    ch.on('error', () => undefined);
    try {
      return (await ch.checkQueue(queue)).messageCount;
    } finally {
      await ch.close().catch(() => undefined);
    }
  }

  /** Removes a binding, as an operator's mistake or a half-applied deployment would. */
  async unbindQueue(b: { exchange: string; queue: string; routingKey: string }): Promise<void> {
    await this.ch.unbindQueue(b.queue, b.exchange, b.routingKey);
  }

  async bindQueue(b: { exchange: string; queue: string; routingKey: string }): Promise<void> {
    await this.ch.bindQueue(b.queue, b.exchange, b.routingKey);
  }

  async close(): Promise<void> {
    await this.conn.close().catch(() => undefined);
  }
}
