import { describe, expect, it, vi } from 'vitest';
import { sampleStandIn } from './test-support/sample-stand-in.js';

describe('StandInState', () => {
  it('counts attempts, and clear forgets the messages and the count but keeps the behaviour', () => {
    const { state } = sampleStandIn('a', 'b');
    state.countAttempt();
    state.countAttempt();
    state.setBehaviour({ delayMs: 5 });
    expect(state.attempts()).toBe(2);

    state.clear();
    expect(state.messages()).toEqual([]);
    expect(state.attempts()).toBe(0);
    expect(state.behaviour()).toEqual({ delayMs: 5 });
  });

  it('replaces the whole behaviour on set, so fields left out go back to their defaults', () => {
    const { state } = sampleStandIn();
    state.setBehaviour({ delayMs: 5 });
    state.setBehaviour({});
    expect(state.behaviour()).toEqual({ delayMs: 0 });
  });

  it("controls read and wait on the stand-in's store", async () => {
    const { store, state } = sampleStandIn('a');
    const controls = state.controls(async () => undefined);
    expect(controls.messages()).toEqual([{ id: 'a' }]);
    const waiting = controls.waitFor((m) => m.id === 'b');
    store.add({ id: 'b' });
    await expect(waiting).resolves.toEqual({ id: 'b' });
  });

  it('controls.close stops the stand-in once, however often and however concurrently it is called', async () => {
    const { state } = sampleStandIn();
    const stop = vi.fn(async () => undefined);
    const controls = state.controls(stop);
    const first = controls.close();
    const second = controls.close();
    await Promise.all([first, second, controls.close()]);
    expect(second).toBe(first);
    expect(stop).toHaveBeenCalledTimes(1);
  });

  it('controls.close hands every caller the failure of the one stop', async () => {
    const { state } = sampleStandIn();
    const controls = state.controls(async () => {
      throw new Error('server would not close');
    });
    await expect(controls.close()).rejects.toThrow('server would not close');
    await expect(controls.close()).rejects.toThrow('server would not close');
  });
});
