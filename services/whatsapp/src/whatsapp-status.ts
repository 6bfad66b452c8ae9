import { WHATSAPP_STATUSES } from '@notify/contracts';

export type WhatsappStatus = (typeof WHATSAPP_STATUSES)[number];

const PROGRESS: Record<WhatsappStatus, number> = {
  queued: 0,
  sent: 1,
  delivered: 2,
  read: 3,
  failed: -1,
  undelivered: -1,
};

export function isWhatsappStatus(value: unknown): value is WhatsappStatus {
  return typeof value === 'string' && (WHATSAPP_STATUSES as readonly string[]).includes(value);
}

export function isTerminal(status: WhatsappStatus): boolean {
  return status === 'failed' || status === 'undelivered';
}

/**
 * The status a message has after `incoming` arrives while it is `current`. Callbacks may
 * arrive late, twice or out of order (a `delivered` before its `sent`), so the stored
 * status only moves forward: queued < sent < delivered < read. `failed` and `undelivered`
 * are terminal: nothing leaves them. They end a message that was queued or sent; once the
 * handset confirmed delivery, a failure report can only be stale, so it is kept in the
 * history but does not change the status.
 */
export function nextStatus(current: WhatsappStatus, incoming: WhatsappStatus): WhatsappStatus {
  if (isTerminal(current)) return current;
  if (isTerminal(incoming)) return PROGRESS[current] < PROGRESS.delivered ? incoming : current;
  return PROGRESS[incoming] > PROGRESS[current] ? incoming : current;
}

/**
 * Twilio answers a create with `queued` for a sender number and `accepted` or `scheduled`
 * for a Messaging Service; the events only know the WhatsApp lifecycle, where those mean
 * the same thing as queued.
 */
export function acceptedStatus(twilioStatus: string): WhatsappStatus {
  return isWhatsappStatus(twilioStatus) ? twilioStatus : 'queued';
}
