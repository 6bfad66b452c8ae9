import { ALL_EXCHANGES, CHANNELS, EXCHANGES, channelConsumers, fullTopology } from '@notify/contracts';
import { describe, expect, it } from 'vitest';
import { brokerGrants, exactNames } from './broker-users.js';

const grant = (user: string) => {
  const g = brokerGrants().find((x) => x.user === user);
  if (!g) throw new Error(user);
  return g;
};
const matches = (regex: string, name: string) => new RegExp(regex).test(name);

describe('broker grants', () => {
  it('build anchored regexes that match exactly the listed names', () => {
    const r = exactNames(['order.events', 'email']);
    expect(r).toBe('^(?:email|order\\.events)$');
    expect(matches(r, 'order.events')).toBe(true);
    expect(matches(r, 'orderxevents')).toBe(false);
    expect(matches(r, 'email.dlq')).toBe(false);
    expect(exactNames([])).toBe('^$');
  });

  it('let only the order API write to notification', () => {
    const writers = brokerGrants().filter((g) => g.write.includes(EXCHANGES.notification.name));
    expect(writers.map((g) => g.user)).toEqual(['order-api']);
  });

  it("never let a channel service read another service's queue", () => {
    const queues = fullTopology().queues.map((q) => q.name);
    for (const c of CHANNELS) {
      const own = new Set([
        channelConsumers[c].queue.name,
        ...channelConsumers[c].retryQueues.map((q) => q.name),
      ]);
      const readable = grant(c).read.filter((n) => queues.includes(n));
      expect(new Set(readable)).toEqual(own);
    }
  });

  it('let every service declare every exchange, since each declares them all on connect', () => {
    for (const g of brokerGrants().filter((x) => x.user !== 'keda'))
      for (const e of ALL_EXCHANGES) expect(g.configure, `${g.user} ${e.name}`).toContain(e.name);
  });

  it('give the queue-depth user nothing but entry to the vhost', () => {
    expect(grant('keda')).toMatchObject({ configure: [], write: [], read: [] });
  });
});
