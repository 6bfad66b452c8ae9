import { randomUUID } from 'node:crypto';
import { events } from '@notify/contracts';
import type { Delivery } from '@notify/messaging';
import { describe, expect, it } from 'vitest';
import type { ApplyResult, ChannelStatusStore } from './apply-outcome.js';
import { resolveChannelOwners } from './channel-owners.js';
import type { EventOwnership, EventRefusal } from './channel-owners.js';
import type { OutcomeContract } from './outcome-events.js';
import { outcomeEventHandler, outcomeWindowHandler } from './status-consumer.js';

const orderId = randomUUID();

function fraudAssessed(publishedBy?: string, order = orderId): Delivery<OutcomeContract> {
  return {
    key: events.fraudAssessed.routingKey,
    contract: events.fraudAssessed,
    payload: {
      orderId: order,
      occurredAt: '2026-11-23T12:00:00.000Z',
      score: 10,
      decision: 'approve',
      rules: [],
    },
    ctx: { logger: undefined, publishedBy },
  } as unknown as Delivery<OutcomeContract>;
}

function ownership(): EventOwnership & { refusals: EventRefusal[] } {
  const refusals: EventRefusal[] = [];
  return {
    refusals,
    owners: resolveChannelOwners({ fraud: 'svc-fraud' }, 'order-api'),
    refused: (r) => refusals.push(r),
  };
}

function store(answer: () => Promise<ApplyResult>): ChannelStatusStore & { seen: unknown[] } {
  const seen: unknown[] = [];
  return {
    seen,
    apply(update) {
      seen.push(update);
      return answer();
    },
  };
}

describe('outcomeEventHandler', () => {
  it('acks an event once it is applied, unchanged or for an order this API does not know', async () => {
    for (const result of ['applied', 'unchanged', 'unknown-order'] as const) {
      const statuses = store(async () => result);
      await expect(outcomeEventHandler(statuses)(fraudAssessed()), result).resolves.toEqual({ kind: 'ack' });
      expect(statuses.seen).toEqual([
        expect.objectContaining({
          orderId,
          channel: 'fraud',
          event: expect.objectContaining({ kind: 'succeeded' }),
        }),
      ]);
    }
  });

  it('reports the database as unavailable when it cannot be reached, without blaming the event', async () => {
    const down = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const fate = await outcomeEventHandler(store(() => Promise.reject(down)))(fraudAssessed());
    expect(fate).toEqual({
      kind: 'unavailable',
      dependency: 'database',
      reason: 'connect ECONNREFUSED 127.0.0.1:5432',
    });
  });

  it('lets any other failure through, so the runner retries it as unexpected', async () => {
    const bug = Object.assign(new Error('column "x" does not exist'), { code: '42703' });
    await expect(outcomeEventHandler(store(() => Promise.reject(bug)))(fraudAssessed())).rejects.toBe(bug);
  });

  it("applies an event published by its channel's owner", async () => {
    const statuses = store(async () => 'applied');
    const owners = ownership();
    await expect(outcomeEventHandler(statuses, owners)(fraudAssessed('svc-fraud'))).resolves.toEqual({
      kind: 'ack',
    });
    expect(statuses.seen).toHaveLength(1);
    expect(owners.refusals).toEqual([]);
  });

  it('dead-letters, counts and does not apply an event from another user or from no verified user', async () => {
    for (const publishedBy of ['svc-email', undefined]) {
      const statuses = store(async () => 'applied');
      const owners = ownership();
      const fate = await outcomeEventHandler(statuses, owners)(fraudAssessed(publishedBy));
      expect(fate).toMatchObject({
        kind: 'dead-letter',
        reason: expect.stringContaining('only "svc-fraud"'),
      });
      expect(statuses.seen).toEqual([]);
      expect(owners.refusals).toEqual([
        expect.objectContaining({
          channel: 'fraud',
          reason: publishedBy ? 'not-channel-owner' : 'unverified-publisher',
        }),
      ]);
    }
  });
});

/** A store applying windows: `answer` gives one result per update, or throws. */
function windowStore(answer: (n: number) => Promise<readonly ApplyResult[]>) {
  const windows: unknown[][] = [];
  return {
    windows,
    apply: () => Promise.reject(new Error('a window is applied with applyAll')),
    applyAll(updates: readonly unknown[]) {
      windows.push([...updates]);
      return answer(updates.length);
    },
  };
}

describe('outcomeWindowHandler', () => {
  it('applies the accepted events of a window in one call and dead-letters only the refused one', async () => {
    const statuses = windowStore(async (n) => Array.from({ length: n }, () => 'applied' as const));
    const owners = ownership();
    const [a, b] = [randomUUID(), randomUUID()];
    const fates = await outcomeWindowHandler(
      statuses,
      owners,
    )([fraudAssessed('svc-fraud', a), fraudAssessed('svc-email'), fraudAssessed('svc-fraud', b)]);
    expect(fates).toEqual([
      { kind: 'ack' },
      expect.objectContaining({ kind: 'dead-letter', reason: expect.stringContaining('only "svc-fraud"') }),
      { kind: 'ack' },
    ]);
    expect(statuses.windows).toEqual([
      [expect.objectContaining({ orderId: a }), expect.objectContaining({ orderId: b })],
    ]);
    expect(owners.refusals).toHaveLength(1);
  });

  it('acks events for unknown orders and unchanged ones like applied ones', async () => {
    const statuses = windowStore(async () => ['unknown-order', 'unchanged']);
    const fates = await outcomeWindowHandler(statuses)([fraudAssessed(), fraudAssessed()]);
    expect(fates).toEqual([{ kind: 'ack' }, { kind: 'ack' }]);
  });

  it('holds every event of the window for a database outage', async () => {
    const down = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const fates = await outcomeWindowHandler(windowStore(() => Promise.reject(down)))([
      fraudAssessed(),
      fraudAssessed(),
    ]);
    expect(fates).toEqual([
      { kind: 'unavailable', dependency: 'database', reason: 'connect ECONNREFUSED 127.0.0.1:5432' },
      { kind: 'unavailable', dependency: 'database', reason: 'connect ECONNREFUSED 127.0.0.1:5432' },
    ]);
  });

  it('throws any other failure, so the runner applies each event alone', async () => {
    const bug = Object.assign(new Error('column "x" does not exist'), { code: '42703' });
    await expect(
      outcomeWindowHandler(windowStore(() => Promise.reject(bug)))([fraudAssessed()]),
    ).rejects.toBe(bug);
  });
});
