import { EXCHANGES, HEADERS } from '@notify/contracts';
import type { ConsumerTopology } from '@notify/contracts';
import type { Message } from 'amqplib';
import { republishProperties } from './properties.js';
import type { Publisher } from './publisher.js';
import type { DeadLetterDecision, Envelope, RetryDecision } from './settle.js';

/**
 * Moves a message out of its queue the only safe way: a confirmed publish of a copy to
 * the retry or dead-letter exchange, which the caller awaits before it acks the
 * original. A crash in between redelivers the original, so the message is never lost
 * (at worst it is rerouted twice, with the same message id).
 */
export class Rerouter {
  constructor(
    private readonly publisher: Pick<Publisher, 'publishRaw'>,
    private readonly topology: ConsumerTopology,
  ) {}

  /** To the delay queue of this attempt's level; it expires back into the work queue. */
  async retry(msg: Message, envelope: Envelope, decision: RetryDecision): Promise<void> {
    await this.publisher.publishRaw({
      exchange: EXCHANGES.retry.name,
      routingKey: this.topology.retryRoutingKey(envelope.attempt),
      content: msg.content,
      properties: {
        ...republishProperties(msg, {
          ...msg.properties.headers,
          [HEADERS.attempt]: decision.nextAttempt,
          [HEADERS.routingKey]: envelope.routingKey,
          [HEADERS.lastError]: decision.message.slice(0, 500),
        }),
        expiration: String(decision.delayMs),
      },
    });
  }

  /** To the queue's dead-letter queue, with why, when and from where in its headers. */
  async deadLetter(msg: Message, envelope: Envelope, decision: DeadLetterDecision, now: Date): Promise<void> {
    const { message, detail } = decision;
    await this.publisher.publishRaw({
      exchange: EXCHANGES.deadLetter.name,
      routingKey: this.topology.deadLetterRoutingKey,
      content: msg.content,
      properties: republishProperties(msg, {
        ...msg.properties.headers,
        [HEADERS.attempt]: decision.attempts,
        [HEADERS.routingKey]: envelope.routingKey,
        [HEADERS.deathReason]: decision.reason,
        [HEADERS.deathDetail]: (detail ? `${message} | ${detail}` : message).slice(0, 1000),
        [HEADERS.deathAt]: now.toISOString(),
        [HEADERS.originalQueue]: this.topology.queue.name,
      }),
    });
  }
}
