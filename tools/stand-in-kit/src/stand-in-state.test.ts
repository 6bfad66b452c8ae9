import { describe, expect, it, vi } from 'vitest';
import { BoundedStore } from './bounded-store.js';
import { StandInState } from './stand-in-state.js';

interface Behaviour {
  delayMs?: number;
}

class BehaviourHolder {
  private current = { delayMs: 0 };
  get() {
    return { ...this.current };
  }
  set(behaviour: Behaviour) {
    this.current = { delayMs: behaviour.delayMs ?? 0 };
  }
}

function stateWithMessages(...ids: string[]) {
  const store = new BoundedStore<{ id: string }>({ capacity: 10, idOf: (m) => m.id, itemName: 'message' });
  for (const id of ids) store.add({ id });
  return { store, state: new StandInState(store, new BehaviourHolder()) };
}

describe('StandInState', () => {
  it('counts attempts, and clear forgets the messages and the count but keeps the behaviour', () => {
    const { state } = stateWithMessages('a', 'b');
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
    const { state } = stateWithMessages();
    state.setBehaviour({ delayMs: 5 });
    state.setBehaviour({});
    expect(state.behaviour()).toEqual({ delayMs: 0 });
  });

  it("controls read and wait on the stand-in's store", async () => {
    const { store, state } = stateWithMessages('a');
    const controls = state.controls(async () => undefined);
    expect(controls.messages()).toEqual([{ id: 'a' }]);
    const waiting = controls.waitFor((m) => m.id === 'b');
    store.add({ id: 'b' });
    await expect(waiting).resolves.toEqual({ id: 'b' });
  });

  it('controls.close stops the stand-in once, however often and however concurrently it is called', async () => {
    const { state } = stateWithMessages();
    const stop = vi.fn(async () => undefined);
    const controls = state.controls(stop);
    const first = controls.close();
    const second = controls.close();
    await Promise.all([first, second, controls.close()]);
    expect(second).toBe(first);
    expect(stop).toHaveBeenCalledTimes(1);
  });

  it('controls.close hands every caller the failure of the one stop', async () => {
    const { state } = stateWithMessages();
    const controls = state.controls(async () => {
      throw new Error('server would not close');
    });
    await expect(controls.close()).rejects.toThrow('server would not close');
    await expect(controls.close()).rejects.toThrow('server would not close');
  });
});
