import {
  CHANNELS,
  EXCHANGES,
  PREFERENCE_CHANNELS,
  channelConsumers,
  fullTopology,
  orderEventsConsumer,
  preferenceConsumers,
} from '@notify/contracts';
import type { PreferenceChannel } from '@notify/contracts';
import { describe, expect, it } from 'vitest';
import { brokerGrants, channelOwners, eventRoutingKeysOf, exactNames } from './broker-users.js';
import { buildDefinitions, policyDefinitionOf } from './definitions.js';

const grant = (user: string) => {
  const g = brokerGrants().find((x) => x.user === user);
  if (!g) throw new Error(user);
  return g;
};
const matches = (regex: string, name: string) => new RegExp(regex).test(name);
const topology = fullTopology();
const queueNames = topology.queues.map((q) => q.name);
const exchangeNames = topology.exchanges.map((e) => e.name);

describe('broker grants', () => {
  it('build anchored regexes that match exactly the listed names', () => {
    const r = exactNames(['order.events', 'email']);
    expect(r).toBe('^(?:email|order\\.events)$');
    expect(matches(r, 'order.events')).toBe(true);
    expect(matches(r, 'orderxevents')).toBe(false);
    expect(matches(r, 'email.dlq')).toBe(false);
    expect(exactNames([])).toBe('^$');
  });

  it('let nobody configure (declare or delete) anything: a deploy step creates the topology', () => {
    for (const g of brokerGrants()) expect(g.configure, g.user).toEqual([]);
  });

  it('let nobody bind: no user reads an exchange, and no queue shares an exchange name', () => {
    for (const g of brokerGrants()) {
      for (const name of g.read) expect(exchangeNames, `${g.user} reads ${name}`).not.toContain(name);
      for (const name of g.write) expect(queueNames, `${g.user} writes ${name}`).not.toContain(name);
    }
  });

  it('let only the order API write to notification', () => {
    const writers = brokerGrants().filter((g) => g.write.includes(EXCHANGES.notification.name));
    expect(writers.map((g) => g.user)).toEqual(['order-api']);
  });

  it("give each channel's service its own work queue (and preferences copy), their retry and dead-letter exchanges and order.events, nothing else", () => {
    for (const c of CHANNELS) {
      const t = channelConsumers[c];
      const copy = (PREFERENCE_CHANNELS as readonly string[]).includes(c)
        ? preferenceConsumers[c as PreferenceChannel]
        : undefined;
      expect(grant(c).read).toEqual([t.queue.name, ...(copy ? [copy.queue.name] : [])]);
      expect(new Set(grant(c).write)).toEqual(
        new Set([
          t.retryExchange.name,
          t.deadLetterExchange.name,
          ...(copy ? [copy.retryExchange.name, copy.deadLetterExchange.name] : []),
          EXCHANGES.events.name,
        ]),
      );
      expect(grant(c).eventRoutingKeys).toEqual({ write: eventRoutingKeysOf(c), read: [] });
    }
  });

  it('give every writer of order.events topic permissions, with no routing key of another channel', () => {
    for (const g of brokerGrants().filter((x) => x.write.includes(EXCHANGES.events.name))) {
      expect(g.eventRoutingKeys, g.user).toBeDefined();
      const others = CHANNELS.filter((c) => c !== g.user).flatMap(eventRoutingKeysOf);
      for (const key of g.eventRoutingKeys?.write ?? []) expect(others).not.toContain(key);
    }
  });

  it('let the order API read its event queue and the dead letters, and publish no event', () => {
    const api = grant('order-api');
    expect(api.read).toContain(orderEventsConsumer.queue.name);
    for (const c of CHANNELS) expect(api.read).not.toContain(channelConsumers[c].queue.name);
    expect(api.write).not.toContain(EXCHANGES.events.name);
    expect(api.eventRoutingKeys).toBeUndefined();
  });

  it('let only the order API write customer preferences, which reach the two copies and nothing else', () => {
    const writers = brokerGrants().filter((g) => g.write.includes(EXCHANGES.preferences.name));
    expect(writers.map((g) => g.user)).toEqual(['order-api']);
    const bound = topology.bindings
      .filter((b) => b.exchange === EXCHANGES.preferences.name)
      .map((b) => b.queue);
    expect(bound.sort()).toEqual(['email.preferences', 'whatsapp.preferences']);
  });

  it('give the queue-depth user nothing but entry to the vhost', () => {
    expect(grant('keda')).toMatchObject({ configure: [], write: [], read: [] });
  });

  it('name every channel with its service user in CHANNEL_OWNERS', () => {
    expect(channelOwners()).toBe(
      'email=email,whatsapp=whatsapp,logistic=logistic,payment=payment,fraud=fraud',
    );
    expect(channelOwners((u) => `run-${u}`)).toContain('payment=run-payment');
  });
});

describe('broker policies', () => {
  const definitions = buildDefinitions();

  it('say for every queue exactly what its arguments say, and each queue is matched by one policy', () => {
    for (const q of definitions.queues) {
      const matching = definitions.policies.filter((p) => matches(p.pattern, q.name));
      const expected = policyDefinitionOf(q.arguments);
      expect(matching, q.name).toHaveLength(1);
      expect(matching[0]?.definition, q.name).toEqual(expected);
      expect(expected['delivery-limit'], q.name).toBeTypeOf('number');
    }
  });

  it('dead-letter at least once wherever the broker dead-letters', () => {
    for (const p of definitions.policies.filter((x) => x.definition['dead-letter-exchange'])) {
      expect(p.definition).toMatchObject({
        'dead-letter-strategy': 'at-least-once',
        overflow: 'reject-publish',
      });
    }
  });
});
