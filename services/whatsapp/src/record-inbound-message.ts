import type { Logger } from 'pino';
import type { PhoneOptOuts } from './send-order-whatsapp.js';

// A customer's own opt-out: a reply of STOP (or one of Twilio's other opt-out keywords)
// to the WhatsApp or SMS sender, and START to undo it. Twilio itself answers the keyword
// on SMS; here the number is remembered so that neither channel sends to it again.

/** Twilio's default opt-out and opt-in keywords (case-insensitive, the whole message). */
const STOP_WORDS = new Set(['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'REVOKE', 'OPTOUT']);
const START_WORDS = new Set(['START', 'YES', 'UNSTOP']);

const E164 = /^\+[1-9][0-9]{6,14}$/;

export type InboundOutcome = 'opted-out' | 'opted-in' | 'unchanged' | 'ignored';

export class MalformedInboundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedInboundError';
  }
}

/** What an incoming message asks for: Twilio's OptOutType when it sent one, else the keyword itself. */
export function keywordOf(fields: Record<string, string>): 'stop' | 'start' | null {
  const type = fields['OptOutType']?.toUpperCase();
  if (type === 'STOP') return 'stop';
  if (type === 'START') return 'start';
  const word = (fields['Body'] ?? '').trim().toUpperCase();
  if (STOP_WORDS.has(word)) return 'stop';
  if (START_WORDS.has(word)) return 'start';
  return null;
}

export async function recordInboundMessage(
  fields: Record<string, string>,
  deps: { optOuts: PhoneOptOuts; logger: Logger },
): Promise<InboundOutcome> {
  const from = (fields['From'] ?? '').replace(/^whatsapp:/, '');
  if (!E164.test(from)) throw new MalformedInboundError('From must be a phone number in E.164 form');
  const keyword = keywordOf(fields);
  if (keyword === null) return 'ignored';
  const changed =
    keyword === 'stop' ? await deps.optOuts.optOut(from, 'stop-keyword') : await deps.optOuts.optIn(from);
  // The number is personal data: the log says what happened, not to whom.
  deps.logger.info({ keyword, changed }, 'incoming opt-out keyword recorded');
  if (!changed) return 'unchanged';
  return keyword === 'stop' ? 'opted-out' : 'opted-in';
}
