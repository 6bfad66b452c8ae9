import { BoundedStore } from '@notify/stand-in-kit';
import type { SandboxMessage } from './sandbox-message.js';

export type MessagePredicate = (message: SandboxMessage) => boolean;

/**
 * Holds the most recent messages in arrival order. Messages change after they arrive (status
 * changes, callback results), so waiters are checked again on every change, and callers only
 * ever get copies they cannot corrupt the record through.
 */
export class MessageStore extends BoundedStore<SandboxMessage> {
  constructor(capacity: number) {
    super({
      capacity,
      idOf: (message) => message.sid,
      itemName: 'message',
      copy: (message) => structuredClone(message),
    });
  }

  /** Applies a change to a held message; a message dropped or cleared meanwhile is left alone. */
  update(sid: string, change: (message: SandboxMessage) => void): SandboxMessage | undefined {
    const message = this.held(sid);
    if (!message) return undefined;
    change(message);
    this.notify(message);
    return structuredClone(message);
  }
}
