import { BoundedStore } from '../bounded-store.js';
import { StandInState } from '../stand-in-state.js';

export interface DelayBehaviour {
  delayMs?: number;
}

export const DelayBehaviourSchema = {
  type: 'object',
  properties: { delayMs: { type: 'integer', minimum: 0 } },
  additionalProperties: false,
} as const;

/** A one-field behaviour that, like the stand-ins' own, is replaced whole on set. */
class DelayBehaviourState {
  private current = { delayMs: 0 };

  get() {
    return { ...this.current };
  }

  set(behaviour: DelayBehaviour) {
    this.current = { delayMs: behaviour.delayMs ?? 0 };
  }
}

/** The state of a minimal stand-in holding the messages with the given ids. */
export function sampleStandIn(...ids: string[]) {
  const store = new BoundedStore<{ id: string }>({ capacity: 10, idOf: (m) => m.id, itemName: 'message' });
  for (const id of ids) store.add({ id });
  return { store, state: new StandInState(store, new DelayBehaviourState()) };
}
