import { describe, expect, it, vi } from 'vitest';
import { ratesFromQueues } from './broker-management.js';
import { loadConsoleConfig } from './console-config.js';
import { ConsoleFeed, orderIdsOf } from './console-feed.js';
import type { FeedSubscriber } from './console-feed.js';
import { requireOperator } from './operator-access.js';
import { decodeCursor, encodeCursor, searchCondition } from './order-summaries.js';
import type { OrderSummary } from './order-summaries.js';
import { counterTotal } from './prometheus-text.js';
import { RateTracker } from './rate-tracker.js';
import { toReadinessReport } from './service-ops.js';
import type { FastifyRequest } from 'fastify';

const ID = '7b7c8d3e-1f2a-4b5c-8d9e-0f1a2b3c4d5e';

describe('requireOperator', () => {
  const req = (scopes: readonly string[]) => ({ scopes, clientId: 'shop-eu' }) as unknown as FastifyRequest;

  it('lets in callers with the operator scope (API_OPERATORS, or anonymous without keys)', () => {
    expect(() => requireOperator(req(['operator']))).not.toThrow();
  });

  it('refuses a client without the operator scope with 403', () => {
    expect(() => requireOperator(req([]))).toThrow(expect.objectContaining({ status: 403 }));
    expect(() => requireOperator(req(['orders']))).toThrow(expect.objectContaining({ status: 403 }));
  });
});

describe('console settings', () => {
  it('defaults every service to its catalogue port and takes overrides per service', () => {
    const c = loadConsoleConfig({ CONSOLE_SERVICE_URLS: 'logistic=http://10.0.0.5:9000' });
    expect(c.serviceUrls).toEqual({
      email: 'http://127.0.0.1:3001',
      whatsapp: 'http://127.0.0.1:3002',
      logistic: 'http://10.0.0.5:9000',
      payment: 'http://127.0.0.1:3004',
      fraud: 'http://127.0.0.1:3005',
    });
    expect(c.maxStreams).toBe(50);
    expect(c.managementUrl).toBeNull();
  });

  it('refuses unknown services and URLs with credentials or a path, naming the variable', () => {
    for (const bad of [
      'mail=http://127.0.0.1:1',
      'email=ftp://127.0.0.1:1',
      'email=http://user:pw@127.0.0.1:1',
      'email=http://127.0.0.1:1/metrics',
      'email',
    ]) {
      expect(() => loadConsoleConfig({ CONSOLE_SERVICE_URLS: bad }), bad).toThrow(/CONSOLE_SERVICE_URLS/);
    }
  });
});

describe('order search', () => {
  it('keeps cursors opaque and refuses ones it did not make', () => {
    const c = { placedAt: '2025-01-01T10:00:00.123456Z', id: ID };
    expect(decodeCursor(encodeCursor(c))).toEqual(c);
    expect(decodeCursor(Buffer.from(`2025-01-01T10:00:00Z|${ID}`).toString('base64url'))).toBeNull();
    expect(decodeCursor('bm90LWEtY3Vyc29y')).toBeNull();
  });

  it('searches id, reference and email with parameters, LIKE wildcards taken literally', () => {
    expect(searchCondition(ID.toUpperCase(), 3)).toEqual({
      sql: "(o.id = $3::uuid OR o.reference LIKE $4 OR lower(o.customer->>'email') LIKE $5)",
      values: [ID, `${ID.toUpperCase()}%`, `${ID}%`],
    });
    expect(searchCondition(' a_b%c\\ ', 1).values).toEqual(['A\\_B\\%C\\\\%', 'a\\_b\\%c\\\\%']);
  });
});

describe('system figures', () => {
  it('sums a counter over the samples whose labels match', () => {
    const text = [
      '# HELP messages_processed_total x',
      '# TYPE messages_processed_total counter',
      'messages_processed_total{queue="email",outcome="ack",service="email"} 7',
      'messages_processed_total{queue="email",outcome="retry",service="email"} 2',
      'messages_processed_total{queue="other",outcome="ack",service="email"} 100',
      'messages_processed_totalx{queue="email"} 5',
    ].join('\n');
    expect(counterTotal(text, 'messages_processed_total', { queue: 'email' })).toBe(9);
    expect(counterTotal(text, 'messages_processed_total', { queue: 'none' })).toBeNull();
  });

  it('turns counter growth between looks into a rate, and starts over when a counter resets', () => {
    const r = new RateTracker({ windowMs: 30_000, minSpanMs: 1_000 });
    expect(r.record('email', 0, 10)).toBeNull();
    expect(r.record('email', 500, 12)).toBeNull();
    expect(r.record('email', 2_000, 30)).toBe(10);
    expect(r.record('email', 40_000, 30)).toBe(0);
    expect(r.record('email', 41_000, 5)).toBeNull();
    expect(r.record('email', 43_000, 9)).toBe(2);
  });

  it('reads readiness answers, old and new shapes', () => {
    expect(toReadinessReport(200, { status: 'degraded', checks: { broker: false, x: 'no' } })).toEqual({
      status: 'degraded',
      checks: { broker: false },
    });
    expect(toReadinessReport(503, {})).toEqual({ status: 'not ready', checks: {} });
    expect(() => toReadinessReport(404, null)).toThrow(/404/);
  });

  it("takes the management API's rates per queue", () => {
    const rates = ratesFromQueues([
      { name: 'email', message_stats: { publish_details: { rate: 1.5 }, ack_details: { rate: 1 } } },
      { name: 'idle' },
      { nope: true },
    ]);
    expect(rates.get('email')).toEqual({ publish: 1.5, deliver: null, ack: 1 });
    expect(rates.get('idle')).toEqual({ publish: null, deliver: null, ack: null });
    expect(rates.size).toBe(2);
  });
});

describe('the console feed', () => {
  function summary(id: string): OrderSummary {
    const ch = { state: 'published' as const, updatedAt: '2025-01-01T00:00:00.000Z' };
    return {
      id,
      reference: 'ORD-1',
      status: 'processing',
      placedAt: ch.updatedAt,
      customerEmail: 'a@example.com',
      channels: { email: ch, whatsapp: ch, logistic: ch, payment: ch, fraud: ch },
    };
  }

  function setup(maxPending = 500) {
    let notify: ((p: string | null) => void) | null = null;
    const reads: string[][] = [];
    const feed = new ConsoleFeed({
      changes: {
        watchAll: (fn) => {
          notify = fn;
          return () => (notify = null);
        },
      },
      summaries: {
        byIds: async (ids) => {
          reads.push([...ids]);
          return ids.map(summary);
        },
      },
      delayMs: 1,
      maxPending,
    });
    const seen: string[] = [];
    const sub: FeedSubscriber = { order: (s) => seen.push(s.id), resync: () => seen.push('resync') };
    return {
      feed,
      reads,
      seen,
      sub,
      notify: (p: string | null) => notify?.(p),
      watching: () => notify !== null,
    };
  }

  it('reads the orders named in notifications once, for every subscriber, only while someone watches', async () => {
    const t = setup();
    expect(t.watching()).toBe(false);
    const unsubscribe = t.feed.subscribe(t.sub);
    expect(t.watching()).toBe(true);
    t.notify(ID);
    t.notify(ID);
    t.notify(`new:${ID},11111111-2222-4333-8444-555555555555`);
    await vi.waitFor(() => expect(t.seen).toHaveLength(2), { timeout: 10_000 });
    expect(t.reads).toEqual([[ID, '11111111-2222-4333-8444-555555555555']]);
    expect(t.seen).toEqual([ID, '11111111-2222-4333-8444-555555555555']);
    unsubscribe();
    expect(t.watching()).toBe(false);
  });

  it('asks the streams to resync when notifications may be lost or pile up', () => {
    const t = setup(1);
    t.feed.subscribe(t.sub);
    t.notify(null);
    t.notify(`new:${ID},11111111-2222-4333-8444-555555555555`);
    expect(t.seen).toEqual(['resync', 'resync']);
  });

  it('parses both kinds of payload', () => {
    expect(orderIdsOf(ID)).toEqual([ID]);
    expect(orderIdsOf(`new:${ID}, x`)).toEqual([ID, 'x']);
  });
});
