import { BoundedStore } from '@notify/stand-in-kit';
import type { ReceivedMail } from './received-mail.js';

export type MailPredicate = (mail: ReceivedMail) => boolean;

/**
 * Keeps the most recent mail in arrival order and wakes up whoever waits for a match. Mail
 * never changes once received, so callers get the held objects themselves.
 */
export class MailStore extends BoundedStore<ReceivedMail> {
  constructor(capacity: number) {
    super({ capacity, idOf: (mail) => mail.id, itemName: 'received mail' });
  }
}
