import { channelConsumers, HEADERS, orderEventsConsumer } from '@notify/contracts';
import { describe, expect, it } from 'vitest';
import { brokerUser, identityTrust, publisherIdentity, withPublishedBy } from './identity.js';
import type { IdentifiedMessage } from './identity.js';

const events = orderEventsConsumer;
const trust = identityTrust(events, ['order-api']);

function msg(exchange: string, userId: unknown, claimed?: unknown): IdentifiedMessage {
  return {
    fields: { exchange },
    properties: { userId, headers: claimed === undefined ? {} : { [HEADERS.publishedBy]: claimed } },
  };
}

describe('brokerUser', () => {
  it('is the URL’s user name, decoded, or guest when the URL names no credentials (as amqplib logs in)', () => {
    expect(brokerUser('amqp://email:secret@broker:5672/notify')).toBe('email');
    expect(brokerUser('amqps://order%2Dapi%40x:p@broker/')).toBe('order-api@x');
    expect(brokerUser('amqp://127.0.0.1:5672')).toBe('guest');
  });
});

describe('publisherIdentity', () => {
  it('is the verified user-id of a message published straight to a source exchange, whatever it claims', () => {
    expect(publisherIdentity(msg('order.events', 'email'), trust)).toBe('email');
    expect(publisherIdentity(msg('order.events', 'email', 'payment'), trust)).toBe('email');
  });

  it('believes x-published-by on a message its own user republished through its own retry or dead-letter exchange', () => {
    expect(publisherIdentity(msg(events.retryExchange.name, 'order-api', 'payment'), trust)).toBe('payment');
    expect(publisherIdentity(msg(events.deadLetterExchange.name, 'order-api', 'payment'), trust)).toBe(
      'payment',
    );
  });

  it('falls back to the user-id when a republished message carries no identity', () => {
    expect(publisherIdentity(msg(events.retryExchange.name, 'order-api'), trust)).toBe('order-api');
    expect(publisherIdentity(msg(events.retryExchange.name, 'order-api', ''), trust)).toBe('order-api');
  });

  it('does not believe the header through another consumer’s retry exchange', () => {
    const foreign = channelConsumers.email.retryExchange.name;
    expect(publisherIdentity(msg(foreign, 'order-api', 'payment'), trust)).toBe('order-api');
  });

  it('does not believe the header of a message the broker dead-lettered from the work queue for its publisher', () => {
    // The broker keeps the publisher's headers and user-id when it dead-letters past the
    // delivery limit; the user-id shows that a service, not a republisher, wrote them.
    expect(publisherIdentity(msg(events.deadLetterExchange.name, 'email', 'payment'), trust)).toBe('email');
  });

  it('is unknown without a user-id, and a user-id that is not a string counts as none', () => {
    expect(publisherIdentity(msg('order.events', undefined), trust)).toBeUndefined();
    expect(publisherIdentity(msg(events.retryExchange.name, undefined, 'payment'), trust)).toBeUndefined();
    expect(publisherIdentity(msg('order.events', 42), trust)).toBeUndefined();
  });

  it('believes no header without a trust to judge it by', () => {
    expect(publisherIdentity(msg(events.retryExchange.name, 'order-api', 'payment'), undefined)).toBe(
      'order-api',
    );
  });
});

describe('withPublishedBy', () => {
  it('sets the verified identity, replacing a claimed one, and removes a claim when none was verified', () => {
    const claimed = { a: 1, [HEADERS.publishedBy]: 'payment' };
    expect(withPublishedBy(claimed, 'order-api')).toEqual({ a: 1, [HEADERS.publishedBy]: 'order-api' });
    expect(withPublishedBy(claimed, undefined)).toEqual({ a: 1 });
    expect(withPublishedBy(undefined, 'email')).toEqual({ [HEADERS.publishedBy]: 'email' });
    expect(claimed[HEADERS.publishedBy]).toBe('payment');
  });
});
