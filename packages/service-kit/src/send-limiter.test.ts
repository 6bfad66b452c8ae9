import { describe, expect, it } from 'vitest';
import { SendLimiter } from './send-limiter.js';

function deferred() {
  let resolve: () => void = () => {};
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('SendLimiter', () => {
  it('keeps at most `concurrency` requests in flight and runs the rest in order as slots free up', async () => {
    const limiter = new SendLimiter({ concurrency: 2, perSecond: 0 });
    const gates = [deferred(), deferred(), deferred()];
    const started: number[] = [];
    const runs = gates.map((g, i) =>
      limiter.run(async () => {
        started.push(i);
        await g.promise;
        return i;
      }),
    );
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([0, 1]);
    expect(limiter.inFlight).toBe(2);
    gates[1]!.resolve();
    await runs[1];
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([0, 1, 2]);
    gates[0]!.resolve();
    gates[2]!.resolve();
    expect(await Promise.all(runs)).toEqual([0, 1, 2]);
    expect(limiter.inFlight).toBe(0);
  });

  it('frees the slot of a request that failed', async () => {
    const limiter = new SendLimiter({ concurrency: 1, perSecond: 0 });
    await expect(limiter.run(async () => Promise.reject(new Error('503')))).rejects.toThrow('503');
    await expect(limiter.run(async () => 'next')).resolves.toBe('next');
  });

  it('spaces starts 1/perSecond apart, so no second holds more than perSecond starts', async () => {
    // The clock stands still at 0: each request waits until its own start time.
    const waits: number[] = [];
    const limiter = new SendLimiter(
      { concurrency: 100, perSecond: 4 },
      { now: () => 0, sleep: async (ms) => void waits.push(ms) },
    );
    await Promise.all(Array.from({ length: 9 }, () => limiter.run(async () => undefined)));
    expect(waits).toEqual([250, 500, 750, 1000, 1250, 1500, 1750, 2000]);
  });

  it('starts at once while requests come slower than the limit', async () => {
    let now = 0;
    const waits: number[] = [];
    const limiter = new SendLimiter(
      { concurrency: 1, perSecond: 10 },
      { now: () => now, sleep: async (ms) => void waits.push(ms) },
    );
    for (let i = 0; i < 3; i++) {
      await limiter.run(async () => undefined);
      now += 150;
    }
    expect(waits).toEqual([]);
  });

  it('refuses limits that would stop every request', () => {
    expect(() => new SendLimiter({ concurrency: 0, perSecond: 1 })).toThrow(/concurrency/);
    expect(() => new SendLimiter({ concurrency: 1, perSecond: -1 })).toThrow(/perSecond/);
  });
});
