import { describe, expect, it, vi } from 'vitest';
import { GroupRecorder } from './group-recorder.js';

describe('GroupRecorder', () => {
  it('writes at once when idle, and together what arrives while a write is in flight', async () => {
    const writes: number[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const recorder = new GroupRecorder<number, string>(
      async (items) => {
        writes.push([...items]);
        if (writes.length === 1) await gate;
        return items.map((i) => `#${i}`);
      },
      async () => {
        throw new Error('no write alone expected');
      },
    );
    const first = recorder.write(1);
    await vi.waitFor(() => expect(writes).toEqual([[1]]));
    const rest = [2, 3, 4].map((i) => recorder.write(i));
    release();
    expect(await Promise.all([first, ...rest])).toEqual(['#1', '#2', '#3', '#4']);
    expect(writes).toEqual([[1], [2, 3, 4]]);
  });

  it('when a shared write fails, writes each item alone, so one refused item fails only itself', async () => {
    const shared: number[][] = [];
    const alone: number[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const recorder = new GroupRecorder<number, string>(
      async (items) => {
        shared.push([...items]);
        if (shared.length === 1) await gate;
        if (items.includes(2)) throw new Error('check constraint violated by one row');
        return items.map((i) => `#${i}`);
      },
      async (item) => {
        alone.push(item);
        if (item === 2) throw new Error('check constraint violated');
        return `alone #${item}`;
      },
    );
    const first = recorder.write(1);
    await vi.waitFor(() => expect(shared).toEqual([[1]]));
    const rest = Promise.allSettled([2, 3].map((i) => recorder.write(i)));
    release();
    expect(await first).toBe('#1');
    const [two, three] = await rest;
    expect(two).toMatchObject({ status: 'rejected', reason: { message: 'check constraint violated' } });
    expect(three).toEqual({ status: 'fulfilled', value: 'alone #3' });
    expect(shared).toEqual([[1], [2, 3]]);
    expect(alone.sort()).toEqual([2, 3]);
  });
});
