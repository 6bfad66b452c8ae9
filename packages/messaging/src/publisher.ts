import { once } from 'node:events';
import { context } from '@opentelemetry/api';
import { assertValid, HEADERS } from '@notify/contracts';
import type { Contract, Payload } from '@notify/contracts';
import type { ConfirmChannel, Message, Options } from 'amqplib';
import type { Logger } from 'pino';
import type { Broker } from './broker.js';
import {
  BrokerUnavailableError,
  errorMessage,
  PublishNotConfirmedError,
  PublishTimeoutError,
  UnroutableError,
} from './errors.js';
import { failSpan, startPublishSpan } from './spans.js';
import { activeTraceparent, contextOfTraceparent, propagatedTraceparent } from './trace.js';

export interface PublishOptions {
  /** Stable id of this message; consumers de-duplicate on it. */
  readonly messageId: string;
  /** The order id. */
  readonly correlationId?: string;
  readonly headers?: Readonly<Record<string, unknown>>;
  /**
   * W3C traceparent the message continues (its publish span's parent); without it, the
   * active span's. The message carries the publish span's context (a made-up child when
   * no OpenTelemetry SDK records spans).
   */
  readonly traceparent?: string;
  readonly timestamp?: Date;
  readonly timeoutMs?: number;
}

export interface RawPublish {
  readonly exchange: string;
  readonly routingKey: string;
  readonly content: Buffer;
  readonly properties: Options.Publish;
  /** Defaults to true: a returned message rejects the publish with UnroutableError. */
  readonly mandatory?: boolean;
  readonly timeoutMs?: number;
}

export interface PublisherOptions {
  readonly timeoutMs?: number;
  readonly logger?: Logger;
  /** Validate payloads against their contract before sending (default true). */
  readonly validate?: boolean;
}

/**
 * Publishes persistent, mandatory messages on a confirm channel. A publish resolves
 * only once the broker has confirmed it and did not return it; otherwise it rejects,
 * and the caller still owns the message (the outbox keeps it). Every message names the
 * connection's broker user in its `user-id` property (the broker refuses any other), so
 * consumers know who published it.
 */
export class Publisher {
  private channel: ConfirmChannel | null = null;
  private opening: Promise<ConfirmChannel> | null = null;
  private readonly returned = new Map<string, string>();
  private drained: Promise<void> | null = null;
  private closed = false;
  private readonly timeoutMs: number;
  private readonly log: Logger | undefined;
  private readonly onConnected = () => {
    // Channels of the old connection are gone; the next publish opens a new one.
    this.channel = null;
    this.opening = null;
    this.drained = null;
  };

  constructor(
    private readonly broker: Broker,
    private readonly options: PublisherOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.log = options.logger?.child({ component: 'publisher' });
    broker.on('connected', this.onConnected);
  }

  async publish<C extends Contract>(
    contract: C,
    payload: Payload<C>,
    options: PublishOptions,
  ): Promise<void> {
    const body = this.options.validate === false ? payload : assertValid(contract, payload);
    // The message's trace: the caller's traceparent when given (a stored one, as the
    // outbox keeps it), else whatever span is active.
    const parent = options.traceparent ? contextOfTraceparent(options.traceparent) : context.active();
    const span = startPublishSpan(
      {
        exchange: contract.exchange,
        routingKey: contract.routingKey,
        messageId: options.messageId,
        correlationId: options.correlationId,
      },
      parent,
    );
    try {
      await this.publishRaw({
        exchange: contract.exchange,
        routingKey: contract.routingKey,
        content: Buffer.from(JSON.stringify(body)),
        properties: {
          messageId: options.messageId,
          ...(options.correlationId ? { correlationId: options.correlationId } : {}),
          type: contract.type,
          contentType: 'application/json',
          timestamp: Math.floor((options.timestamp ?? new Date()).getTime() / 1000),
          appId: this.broker.appId,
          headers: {
            ...options.headers,
            [HEADERS.traceparent]: propagatedTraceparent(span, options.traceparent ?? activeTraceparent()),
          },
        },
        ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      });
    } catch (err) {
      failSpan(span, err);
      throw err;
    } finally {
      span.end();
    }
  }

  /** Sends bytes with the given properties; used to re-route a delivered message unchanged. */
  async publishRaw(msg: RawPublish): Promise<void> {
    if (this.closed) throw new BrokerUnavailableError('publisher is closed');
    if (this.broker.state === 'blocked') {
      throw new BrokerUnavailableError('broker is blocking publishers (resource alarm)');
    }
    const timeoutMs = msg.timeoutMs ?? this.timeoutMs;
    const deadline = Date.now() + timeoutMs;
    // The common case (channel open, no back-pressure) takes no extra timers or promises.
    const ch = this.channel ?? (await this.withDeadline(this.getChannel(timeoutMs), deadline, timeoutMs));
    if (this.drained) await this.withDeadline(this.drained, deadline, timeoutMs);
    const mandatory = msg.mandatory ?? true;
    const messageId = msg.properties.messageId;
    const returnKey =
      mandatory && messageId ? `${msg.exchange}\u0000${msg.routingKey}\u0000${messageId}` : null;

    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(
        () => {
          if (settled) return;
          settled = true;
          reject(new PublishTimeoutError(timeoutMs));
        },
        Math.max(1, deadline - Date.now()),
      );
      const done = (err: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        const replyText = returnKey ? this.returned.get(returnKey) : undefined;
        if (returnKey) this.returned.delete(returnKey);
        if (err)
          reject(new PublishNotConfirmedError(`publish not confirmed: ${errorMessage(err)}`, { cause: err }));
        else if (replyText !== undefined)
          reject(new UnroutableError(msg.exchange, msg.routingKey, replyText));
        else resolve();
      };
      try {
        const ok = ch.publish(
          msg.exchange,
          msg.routingKey,
          msg.content,
          { ...msg.properties, userId: this.broker.user, persistent: true, mandatory },
          (err) => done(err),
        );
        if (!ok && !this.drained) {
          this.drained = once(ch, 'drain').then(
            () => {
              this.drained = null;
            },
            () => {
              this.drained = null;
            },
          );
        }
      } catch (err) {
        // amqplib throws synchronously when the channel is already closed.
        this.channel = null;
        done(err);
      }
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.broker.off('connected', this.onConnected);
    const ch = this.channel;
    this.channel = null;
    if (ch) await ch.close().catch(() => {});
  }

  private async withDeadline<T>(p: Promise<T>, deadline: number, timeoutMs: number): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        p,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new PublishTimeoutError(timeoutMs)),
            Math.max(1, deadline - Date.now()),
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  private getChannel(timeoutMs: number): Promise<ConfirmChannel> {
    if (this.channel) return Promise.resolve(this.channel);
    if (this.opening) return this.opening;
    const opening = (async () => {
      const conn = this.broker.connection() ?? (await this.broker.waitUntilConnected(timeoutMs));
      const ch = await conn.createConfirmChannel();
      ch.on('error', (err: Error) => this.log?.warn({ err: errorMessage(err) }, 'publisher channel error'));
      ch.on('close', () => {
        if (this.channel === ch) this.channel = null;
        this.drained = null;
      });
      ch.on('return', (m: Message) => {
        const id = m.properties.messageId as string | undefined;
        if (!id) return;
        const replyText = (m.fields as unknown as { replyText?: string }).replyText ?? 'NO_ROUTE';
        this.returned.set(`${m.fields.exchange}\u0000${m.fields.routingKey}\u0000${id}`, replyText);
        this.log?.warn(
          { exchange: m.fields.exchange, routingKey: m.fields.routingKey, messageId: id },
          'message returned unroutable',
        );
      });
      this.channel = ch;
      return ch;
    })();
    this.opening = opening;
    opening.then(
      () => {
        if (this.opening === opening) this.opening = null;
      },
      () => {
        if (this.opening === opening) this.opening = null;
      },
    );
    return opening;
  }
}
