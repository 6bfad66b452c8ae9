import type { Channel } from '@notify/contracts';
import type { OrderRequest } from './sample-order.js';

/** One channel of GET /orders/:id, as far as the tools read it. */
export interface ChannelView {
  readonly state: string;
  /** The id of the channel's message, the one a dead-letter replay names. */
  readonly messageId?: string;
  readonly attempts?: number;
  readonly updatedAt?: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

export interface OrderView {
  readonly id: string;
  readonly reference?: string;
  readonly status: string;
  readonly channels: Readonly<Record<Channel, ChannelView>>;
  readonly [field: string]: unknown;
}

export interface AcceptedOrder {
  readonly id: string;
  readonly reference: string;
  readonly status: string;
  readonly total: number;
  readonly currency: string;
}

/** An answer of the order API that was not the expected one, with its problem details. */
export class OrderApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    what: string,
  ) {
    super(`${what}: HTTP ${status} ${body.slice(0, 500)}`);
    this.name = 'OrderApiError';
  }
}

export interface DeadLetterInfo {
  readonly messageId: string | null;
  readonly orderId: string | null;
  readonly reason: string;
  readonly detail: string | null;
}

export interface DeadLetterOverview {
  readonly total: number;
  readonly services: readonly {
    readonly service: string;
    readonly count: number;
    readonly oldest: DeadLetterInfo | null;
    readonly reasons: readonly {
      readonly reason: string;
      readonly count: number;
      readonly example: string | null;
    }[];
  }[];
}

export interface ReplayOutcome {
  readonly replayed: readonly DeadLetterInfo[];
  readonly notFound: readonly string[];
}

/** The few calls of the order API that the demo and the end-to-end tests make. */
export class OrderApiClient {
  readonly baseUrl: string;

  constructor(
    baseUrl: string,
    private readonly apiKey?: string,
  ) {
    this.baseUrl = baseUrl.replace(/\/$/, '');
  }

  headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...(this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {}), ...extra };
  }

  async postOrder(body: OrderRequest, options: { idempotencyKey?: string } = {}): Promise<AcceptedOrder> {
    const r = await fetch(`${this.baseUrl}/orders`, {
      method: 'POST',
      headers: this.headers({
        'content-type': 'application/json',
        ...(options.idempotencyKey ? { 'idempotency-key': options.idempotencyKey } : {}),
      }),
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await r.text();
    if (r.status !== 201) throw new OrderApiError(r.status, text, 'POST /orders was refused');
    return JSON.parse(text) as AcceptedOrder;
  }

  async getOrder(id: string): Promise<OrderView> {
    const r = await fetch(`${this.baseUrl}/orders/${encodeURIComponent(id)}`, {
      headers: this.headers({ accept: 'application/json' }),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await r.text();
    if (r.status !== 200) throw new OrderApiError(r.status, text, `GET /orders/${id} failed`);
    return JSON.parse(text) as OrderView;
  }

  /** GET /dead-letters: per service, how many messages are dead-lettered, the oldest and why. */
  async deadLetters(): Promise<DeadLetterOverview> {
    const r = await fetch(`${this.baseUrl}/dead-letters`, {
      headers: this.headers({ accept: 'application/json' }),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await r.text();
    if (r.status !== 200) throw new OrderApiError(r.status, text, 'GET /dead-letters failed');
    return JSON.parse(text) as DeadLetterOverview;
  }

  /** POST /dead-letters/:service/replay for the given message ids. */
  async replayDeadLetters(service: string, messageIds: readonly string[]): Promise<ReplayOutcome> {
    const r = await fetch(`${this.baseUrl}/dead-letters/${encodeURIComponent(service)}/replay`, {
      method: 'POST',
      headers: this.headers({ 'content-type': 'application/json' }),
      body: JSON.stringify({ messageIds }),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await r.text();
    if (r.status !== 200) throw new OrderApiError(r.status, text, `replaying ${service} dead letters failed`);
    return JSON.parse(text) as ReplayOutcome;
  }

  /** Opens GET /orders/:id/events; `undefined` when this API has no such endpoint yet. */
  async openEvents(id: string, signal: AbortSignal): Promise<Response | undefined> {
    const r = await fetch(`${this.baseUrl}/orders/${encodeURIComponent(id)}/events`, {
      headers: this.headers({ accept: 'text/event-stream' }),
      signal,
    });
    if (r.status === 404 || r.status === 405) {
      // An unknown order is a 404 too: tell the two apart by the order itself.
      await r.body?.cancel();
      await this.getOrder(id);
      return undefined;
    }
    const type = r.headers.get('content-type') ?? '';
    if (r.status !== 200 || !type.startsWith('text/event-stream')) {
      const text = await r.text().catch(() => '');
      throw new OrderApiError(r.status, text, `GET /orders/${id}/events did not open a stream`);
    }
    return r;
  }
}
