import { HEADERS } from '@notify/contracts';
import type { ConsumerTopology } from '@notify/contracts';

// Who published a message, as far as the broker vouches for it. RabbitMQ refuses a
// publish whose `user-id` property is not the connection's user, so that property is a
// verified identity. A message the system republishes (retry, dead letter, replay) gets
// the republisher's user id, and the first publisher's identity travels in the
// x-published-by header, which anyone could write: it is believed only where nobody but
// the consumer's own party could have written it.

/** The broker user a connection to `url` authenticates as (amqplib's rule: guest when the URL names none). */
export function brokerUser(url: string): string {
  const u = new URL(url);
  if (u.username === '' && u.password === '') return 'guest';
  return decodeURIComponent(u.username);
}

export interface IdentityTrust {
  /** The consumer's own retry and dead-letter exchanges. */
  readonly ownExchanges: readonly string[];
  /**
   * Broker users whose republishing is believed: the consumer's own user (its rerouter),
   * and whoever else may publish to its retry exchange (the operator's replay).
   */
  readonly republishers: readonly string[];
}

export function identityTrust(
  topology: Pick<ConsumerTopology, 'retryExchange' | 'deadLetterExchange'>,
  republishers: readonly string[],
): IdentityTrust {
  return {
    ownExchanges: [topology.retryExchange.name, topology.deadLetterExchange.name],
    republishers,
  };
}

/** The parts of a delivered (or fetched) message the identity is read from. */
export interface IdentifiedMessage {
  readonly fields: { readonly exchange: string };
  readonly properties: {
    readonly userId?: unknown;
    readonly headers?: Readonly<Record<string, unknown>> | undefined;
  };
}

/**
 * The verified identity of the message's first publisher, or undefined when unknown.
 *
 * x-published-by is believed when the message came through one of the consumer's own
 * exchanges and its `user-id` is one of the trusted republishers. The exchange alone is
 * not enough: the broker itself dead-letters a message from the work queue into the
 * dead-letter exchange (past its delivery limit) with the headers its publisher chose,
 * and only the `user-id` then tells that this publisher was not a republisher. Anywhere
 * else the identity is the `user-id` property.
 */
export function publisherIdentity(
  msg: IdentifiedMessage,
  trust: IdentityTrust | undefined,
): string | undefined {
  const userId = nonEmpty(msg.properties.userId);
  if (!trust || !trust.ownExchanges.includes(msg.fields.exchange)) return userId;
  if (userId === undefined || !trust.republishers.includes(userId)) return userId;
  return nonEmpty(msg.properties.headers?.[HEADERS.publishedBy]) ?? userId;
}

/**
 * Headers for republishing a message whose verified first publisher is `publishedBy`:
 * the header always says what was verified, never what the message claimed.
 */
export function withPublishedBy(
  headers: Readonly<Record<string, unknown>> | undefined,
  publishedBy: string | undefined,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...headers };
  if (publishedBy === undefined) delete out[HEADERS.publishedBy];
  else out[HEADERS.publishedBy] = publishedBy;
  return out;
}

function nonEmpty(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}
