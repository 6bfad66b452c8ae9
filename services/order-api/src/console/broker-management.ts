import { unreachableNote } from './service-ops.js';

export interface QueueRates {
  /** Messages per second published into the queue. */
  readonly publish: number | null;
  /** Messages per second delivered to consumers (or fetched). */
  readonly deliver: number | null;
  /** Messages per second acknowledged by consumers. */
  readonly ack: number | null;
}

export type ManagementAnswer =
  | { readonly available: true; readonly rates: ReadonlyMap<string, QueueRates> }
  | { readonly available: false; readonly note: string };

interface QueueStats {
  name?: unknown;
  message_stats?: Record<string, { rate?: unknown } | unknown>;
}

function rateOf(stats: QueueStats['message_stats'], key: string): number | null {
  const d = stats?.[`${key}_details`] as { rate?: unknown } | undefined;
  return typeof d?.rate === 'number' && Number.isFinite(d.rate) ? d.rate : null;
}

/** The management API's per-queue message rates of one vhost (what its UI graphs). */
export function ratesFromQueues(body: unknown): Map<string, QueueRates> {
  const out = new Map<string, QueueRates>();
  if (!Array.isArray(body)) return out;
  for (const q of body as QueueStats[]) {
    if (typeof q?.name !== 'string') continue;
    const s = q.message_stats;
    out.set(q.name, {
      publish: rateOf(s, 'publish'),
      deliver: rateOf(s, 'deliver_get'),
      ack: rateOf(s, 'ack'),
    });
  }
  return out;
}

/**
 * The broker's management API, asked only when RABBITMQ_MANAGEMENT_URL is set. Its
 * credentials are the URL's own or else AMQP_URL's; they go in a header, never in a log
 * line or an answer.
 */
export class BrokerManagement {
  private readonly base: string | null;
  private readonly authorization: string;
  private readonly vhost: string;
  private readonly timeoutMs: number;

  constructor(options: { managementUrl: string | null; amqpUrl: string; timeoutMs?: number }) {
    const amqp = new URL(options.amqpUrl);
    this.vhost = decodeURIComponent(amqp.pathname.replace(/^\//, '')) || '/';
    let user = decodeURIComponent(amqp.username || 'guest');
    let pass = decodeURIComponent(amqp.password || 'guest');
    if (options.managementUrl) {
      const m = new URL(options.managementUrl);
      if (m.username) {
        user = decodeURIComponent(m.username);
        pass = decodeURIComponent(m.password);
      }
      m.username = '';
      m.password = '';
      this.base = m.toString().replace(/\/+$/, '');
    } else {
      this.base = null;
    }
    this.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
    this.timeoutMs = options.timeoutMs ?? 2_000;
  }

  async rates(): Promise<ManagementAnswer> {
    if (!this.base) return { available: false, note: 'RABBITMQ_MANAGEMENT_URL is not set' };
    try {
      const r = await fetch(`${this.base}/api/queues/${encodeURIComponent(this.vhost)}`, {
        headers: { authorization: this.authorization, accept: 'application/json' },
        signal: AbortSignal.timeout(this.timeoutMs),
        redirect: 'error',
      });
      if (!r.ok) return { available: false, note: `the management API answered HTTP ${r.status}` };
      return { available: true, rates: ratesFromQueues(await r.json()) };
    } catch (err) {
      return { available: false, note: `the management API is ${unreachableNote(err)}` };
    }
  }
}
