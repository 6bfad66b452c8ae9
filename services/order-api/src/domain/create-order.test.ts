import { describe, expect, it } from 'vitest';
import { validOrder } from '../test-support/order-fixtures.js';
import { createOrder, IdempotencyConflictError } from './create-order.js';
import type { InsertOutcome, OrderStore, StoredResponse } from './create-order.js';

function fakeStore(outcomes: InsertOutcome[]) {
  const calls: { id: string; reference: string; messages: number }[] = [];
  const store: OrderStore = {
    async insertOrder(order, messages) {
      calls.push({ id: order.id, reference: order.reference, messages: messages.length });
      const next = outcomes.shift();
      if (!next) throw new Error('unexpected insert');
      return next;
    },
  };
  return { store, calls };
}

const ids = ['11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222'];
const ctx = (claim: { key: string; requestHash: string } | null = null) => {
  const queue = [...ids];
  return {
    idempotency: claim ? { client: 'anonymous', ...claim } : null,
    requestMetadata: {},
    newId: () => queue.shift() ?? 'none',
    now: () => new Date('2026-11-23T09:00:00.000Z'),
  };
};

describe('createOrder', () => {
  it('stores the order with five messages and answers 201 with the computed totals', async () => {
    const { store, calls } = fakeStore([{ kind: 'created' }]);
    const result = await createOrder(store, validOrder(), ctx());
    expect(result).toMatchObject({
      statusCode: 201,
      replayed: false,
      body: { id: ids[0], reference: 'ORD-111111111111', status: 'accepted', total: 5248 },
    });
    expect(calls).toEqual([{ id: ids[0], reference: 'ORD-111111111111', messages: 5 }]);
  });

  it('returns the stored answer when the key was used with the same request', async () => {
    const stored: StoredResponse = { statusCode: 201, body: { id: 'earlier' } as StoredResponse['body'] };
    const { store } = fakeStore([{ kind: 'key-exists', requestHash: 'h1', response: stored }]);
    const result = await createOrder(store, validOrder(), ctx({ key: 'k-00000001', requestHash: 'h1' }));
    expect(result).toEqual({ ...stored, replayed: true });
  });

  it('refuses a key used with a different request', async () => {
    const stored: StoredResponse = { statusCode: 201, body: { id: 'earlier' } as StoredResponse['body'] };
    const { store } = fakeStore([{ kind: 'key-exists', requestHash: 'h1', response: stored }]);
    await expect(
      createOrder(store, validOrder(), ctx({ key: 'k-00000001', requestHash: 'h2' })),
    ).rejects.toBeInstanceOf(IdempotencyConflictError);
  });

  it('takes a new id when the order reference is already taken', async () => {
    const { store, calls } = fakeStore([{ kind: 'reference-taken' }, { kind: 'created' }]);
    const result = await createOrder(store, validOrder(), ctx());
    expect(calls.map((c) => c.id)).toEqual(ids);
    expect(result.body.id).toBe(ids[1]);
  });
});
