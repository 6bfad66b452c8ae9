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
});
