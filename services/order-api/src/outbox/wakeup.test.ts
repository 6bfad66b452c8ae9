import { describe, expect, it } from 'vitest';
import { Wakeup } from './wakeup.js';

describe('Wakeup', () => {
  it('does not lose a notify that came between reading the generation and waiting', async () => {
    const w = new Wakeup();
    const seen = w.generation;
    w.notify();
    let resolved = false;
    await w.wait(60_000, seen).then(() => (resolved = true));
    expect(resolved).toBe(true);
  });

  it('wakes every waiter on notify', async () => {
    const w = new Wakeup();
    const seen = w.generation;
    const waits = [w.wait(60_000, seen), w.wait(60_000, seen)];
    w.notify();
    await expect(Promise.all(waits)).resolves.toEqual([undefined, undefined]);
  });

  it('notifyOne wakes a single idle waiter, and busy loops still see the new generation', async () => {
    const w = new Wakeup();
    const seen = w.generation;
    const woken: number[] = [];
    const a = w.wait(60_000, seen).then(() => woken.push(1));
    void w.wait(200, seen).then(() => woken.push(2));
    w.notifyOne();
    await a;
    expect(woken).toEqual([1]);
    expect(w.generation).not.toBe(seen);
    // A loop that was busy during the notify does not go to sleep on the old generation.
    await w.wait(60_000, seen);
  });
});
