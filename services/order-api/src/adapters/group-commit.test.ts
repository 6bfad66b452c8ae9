import { describe, expect, it } from 'vitest';
import { GroupCommit } from './group-commit.js';
import type { PendingWrite } from './group-commit.js';

/** A write the test finishes by hand, so batches can be observed while one is in flight. */
function heldWrites() {
  const batches: number[][] = [];
  const release: (() => void)[] = [];
  const write = (batch: PendingWrite<number, string>[]) => {
    batches.push(batch.map((p) => p.item));
    return new Promise<void>((resolve) => {
      release.push(() => {
        for (const p of batch) p.resolve(`done ${p.item}`);
        resolve();
      });
    });
  };
  return { batches, release, write };
}

describe('GroupCommit', () => {
  it('writes a lone item at once and groups the items that arrive while it is in flight', async () => {
    const w = heldWrites();
    const group = new GroupCommit(w.write, { maxConcurrentWrites: 1, maxBatch: 10 });
    const first = group.submit(1);
    const rest = [2, 3, 4].map((n) => group.submit(n));
    expect(w.batches).toEqual([[1]]);
    w.release.shift()?.();
    await expect(first).resolves.toBe('done 1');
    expect(w.batches).toEqual([[1], [2, 3, 4]]);
    w.release.shift()?.();
    await expect(Promise.all(rest)).resolves.toEqual(['done 2', 'done 3', 'done 4']);
  });

  it('keeps batches within maxBatch and writes up to maxConcurrentWrites at once', async () => {
    const w = heldWrites();
    const group = new GroupCommit(w.write, { maxConcurrentWrites: 2, maxBatch: 2 });
    let done = false;
    const all = Promise.all([1, 2, 3, 4, 5, 6].map((n) => group.submit(n))).finally(() => (done = true));
    // 1 and 2 each went out alone (a write slot was free); the rest wait in batches of two.
    expect(w.batches).toEqual([[1], [2]]);
    while (!done) {
      while (w.release.length) w.release.shift()?.();
      await new Promise((resolve) => setImmediate(resolve));
    }
    await expect(all).resolves.toHaveLength(6);
    expect(w.batches).toEqual([[1], [2], [3, 4], [5, 6]]);
  });

  it('rejects the items a throwing write left unsettled, and keeps writing', async () => {
    let calls = 0;
    const group = new GroupCommit<number, number>(
      async (batch) => {
        calls++;
        if (calls === 2) {
          batch[0]?.resolve(batch[0].item);
          throw new Error('write failed');
        }
        for (const p of batch) p.resolve(p.item);
      },
      { maxConcurrentWrites: 1 },
    );
    // 0 goes out alone; 1 and 2 queue behind it and form the second, failing, write.
    const results = await Promise.allSettled([0, 1, 2].map((n) => group.submit(n)));
    expect(results).toEqual([
      { status: 'fulfilled', value: 0 },
      { status: 'fulfilled', value: 1 },
      { status: 'rejected', reason: new Error('write failed') },
    ]);
    await expect(group.submit(3)).resolves.toBe(3);
  });

  it('writes each unsettled item of a failed batch again on its own, so only the offender fails', async () => {
    const batches: number[][] = [];
    const group = new GroupCommit<number, number>(
      async (batch) => {
        batches.push(batch.map((p) => p.item));
        // Item 2 spoils any write it is part of; item 0 is settled before the failure.
        if (batch.some((p) => p.item === 2)) {
          const zero = batch.find((p) => p.item === 0);
          zero?.resolve(0);
          throw new Error('item 2 is unstorable');
        }
        for (const p of batch) p.resolve(p.item * 10);
      },
      { maxConcurrentWrites: 1, retryAlone: (err) => (err as Error).message.includes('unstorable') },
    );
    const first = group.submit(9);
    const results = await Promise.allSettled([0, 1, 2, 3].map((n) => group.submit(n)));
    await expect(first).resolves.toBe(90);
    expect(results).toEqual([
      { status: 'fulfilled', value: 0 },
      { status: 'fulfilled', value: 10 },
      { status: 'rejected', reason: new Error('item 2 is unstorable') },
      { status: 'fulfilled', value: 30 },
    ]);
    // 9 alone, then the failed group, then 1, 2 and 3 alone (0 was already settled).
    expect(batches.slice(0, 2)).toEqual([[9], [0, 1, 2, 3]]);
    expect(batches.slice(2).sort()).toEqual([[1], [2], [3]]);
  });

  it('rejects the whole batch without retrying when retryAlone refuses the error', async () => {
    let writes = 0;
    const group = new GroupCommit<number, number>(
      async () => {
        writes++;
        throw new Error('database away');
      },
      { maxConcurrentWrites: 1, retryAlone: () => false },
    );
    const results = await Promise.allSettled([1, 2, 3].map((n) => group.submit(n)));
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    // 1 alone, then 2 and 3 together; neither split.
    expect(writes).toBe(2);
  });

  it('rejects an item that a write returned without settling', async () => {
    const group = new GroupCommit<number, number>(async () => undefined);
    await expect(group.submit(1)).rejects.toThrow('did not settle');
  });
});
