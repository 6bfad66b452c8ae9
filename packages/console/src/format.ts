import type { ChannelState, Figure } from './api/types.js';

export function stateLabel(state: ChannelState): string {
  return state.replace('_', '-');
}

/** A UTC ISO timestamp as the operator's local date and time, to the second. */
export function formatTime(iso: string | null | undefined, locale?: string): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(locale, {
    year: 'numeric',
    month: 'short',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
}

/** A figure of the System view: its number, or a dash when its source could not say. */
export function formatFigure(figure: Figure, kind: 'count' | 'rate' = 'count'): string {
  if (figure.value === null) return '—';
  if (kind === 'rate')
    return figure.value < 10 ? figure.value.toFixed(1) : Math.round(figure.value).toString();
  return Math.round(figure.value).toLocaleString('en');
}

/** `trackingNumber` → `Tracking number`. */
export function humanizeKey(key: string): string {
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/[_-]+/g, ' ')
    .trim()
    .toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export interface DetailRow {
  readonly label: string;
  readonly value: string;
}

interface FraudRule {
  readonly id?: unknown;
  readonly points?: unknown;
  readonly detail?: unknown;
}

function ruleText(r: FraudRule): string {
  const name = typeof r.id === 'string' ? r.id : 'rule';
  const points = typeof r.points === 'number' ? ` (${r.points >= 0 ? '+' : ''}${r.points})` : '';
  const detail = typeof r.detail === 'string' ? `: ${r.detail}` : '';
  return `${name}${points}${detail}`;
}

function valueText(key: string, value: unknown): string {
  if (value === null || value === undefined) return '—';
  if (key === 'rules' && Array.isArray(value)) {
    return value.length ? value.map((r) => ruleText(r as FraudRule)).join('; ') : 'none fired';
  }
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/**
 * What a channel reported, as label/value rows: the email's message id, the WhatsApp
 * delivery status, the tracking number, the authorisation, the fraud score and the
 * rules that fired, and whatever else a service adds.
 */
export function detailRows(details: Readonly<Record<string, unknown>>): DetailRow[] {
  return Object.keys(details)
    .sort()
    .map((key) => ({ label: humanizeKey(key), value: valueText(key, details[key]) }));
}
