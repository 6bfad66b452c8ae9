import type { DeadLetter, ReplayResult } from '../api/types.js';

/** Replay request body for the chosen letters, or for all of them. */
export function replayBody(messageIds: readonly string[] | 'all'): { all: true } | { messageIds: string[] } {
  return messageIds === 'all' ? { all: true } : { messageIds: [...messageIds] };
}

/** Letters that can be chosen one by one: those with a message id. */
export function selectable(letters: readonly DeadLetter[]): string[] {
  return letters.flatMap((l) => (l.messageId ? [l.messageId] : []));
}

/** A toggled selection, keeping only ids still listed. */
export function toggle(selection: ReadonlySet<string>, id: string, listed: readonly string[]): Set<string> {
  const next = new Set([...selection].filter((s) => listed.includes(s)));
  if (next.has(id)) next.delete(id);
  else next.add(id);
  return next;
}

/** What the confirmation asks. */
export function confirmText(service: string, choice: readonly string[] | 'all', count: number): string {
  const n = choice === 'all' ? count : choice.length;
  const what =
    choice === 'all'
      ? `all ${n} dead letter${n === 1 ? '' : 's'}`
      : `${n} chosen dead letter${n === 1 ? '' : 's'}`;
  return `Replay ${what} of ${service}? Each goes back to the ${service} queue with its original message id and a fresh attempt budget. Do this only once the cause is fixed.`;
}

/** The replay's outcome in one sentence. */
export function replaySummary(result: ReplayResult): string {
  const n = result.replayed.length;
  const missing = result.notFound.length;
  const replayed = `Replayed ${n} letter${n === 1 ? '' : 's'} of ${result.service}`;
  return missing
    ? `${replayed}; ${missing} not found (already replayed or gone): ${result.notFound.join(', ')}.`
    : `${replayed}.`;
}
