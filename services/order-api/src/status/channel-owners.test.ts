import { CHANNELS, deliveryEvents, events, outcomeEvents } from '@notify/contracts';
import { Registry } from '@notify/service-kit';
import { describe, expect, it } from 'vitest';
import {
  channelOfEvent,
  eventOwnership,
  parseChannelOwners,
  refusalOf,
  resolveChannelOwners,
} from './channel-owners.js';

const parse = parseChannelOwners;

describe('CHANNEL_OWNERS', () => {
  it('names a broker user per channel; the rest default to the API’s own user', () => {
    const configured = parse(' email=svc-email , payment=svc-payment,');
    expect(configured).toEqual({ email: 'svc-email', payment: 'svc-payment' });
    expect(resolveChannelOwners(configured, 'guest')).toEqual({
      email: 'svc-email',
      whatsapp: 'guest',
      logistic: 'guest',
      payment: 'svc-payment',
      fraud: 'guest',
    });
    expect(resolveChannelOwners(parse(''), 'guest')).toEqual(
      Object.fromEntries(CHANNELS.map((c) => [c, 'guest'])),
    );
  });

  it('refuses an unknown channel, a channel named twice, and a malformed pair', () => {
    expect(() => parse('sms=svc-sms')).toThrow(/"sms" is not a channel/);
    expect(() => parse('email=a,email=b')).toThrow(/email is named twice/);
    expect(() => parse('email')).toThrow(/<channel>=<broker user>/);
    expect(() => parse('email=a=b')).toThrow(/<channel>=<broker user>/);
    expect(() => parse('email=has space')).toThrow(/<channel>=<broker user>/);
  });
});

describe('the channel of an event', () => {
  it('is the channel whose outcomes or lifecycle the event reports, for every event', () => {
    for (const c of CHANNELS) {
      for (const e of [...outcomeEvents[c], deliveryEvents[c].retrying, deliveryEvents[c].deadLettered])
        expect(channelOfEvent(e.routingKey), e.routingKey).toBe(c);
    }
    expect(channelOfEvent('shipment.created')).toBe('logistic');
    expect(channelOfEvent('order.created')).toBeUndefined();
  });
});

describe('refusalOf', () => {
  const owners = resolveChannelOwners({ payment: 'payment', email: 'email' }, 'order-api');
  const key = events.paymentAuthorized.routingKey;

  it('accepts an event published by its channel’s owner', () => {
    expect(refusalOf(owners, key, 'payment')).toBeNull();
    expect(refusalOf(owners, deliveryEvents.payment.retrying.routingKey, 'payment')).toBeNull();
  });

  it('refuses an event of another channel’s owner, naming both', () => {
    expect(refusalOf(owners, key, 'email')).toEqual({
      reason: 'not-channel-owner',
      channel: 'payment',
      message:
        'event payment.authorized was published by broker user "email"; only "payment" may report on payment',
    });
  });

  it('refuses an event without a verified publisher, and one of no channel', () => {
    expect(refusalOf(owners, key, undefined)).toMatchObject({
      reason: 'unverified-publisher',
      channel: 'payment',
    });
    expect(refusalOf(owners, 'order.created', 'payment')).toMatchObject({
      reason: 'unknown-channel',
      channel: 'unknown',
    });
  });

  it('counts each refusal by channel and reason', async () => {
    const registry = new Registry();
    const ownership = eventOwnership(owners, registry);
    ownership.refused(refusalOf(owners, key, 'email')!);
    ownership.refused(refusalOf(owners, key, undefined)!);
    const text = await registry.metrics();
    expect(text).toContain('outcome_events_refused_total{channel="payment",reason="not-channel-owner"} 1');
    expect(text).toContain('outcome_events_refused_total{channel="payment",reason="unverified-publisher"} 1');
  });
});
