// What the order API answers, as the console reads it (see the API's /openapi.json).

export const CHANNELS = ['email', 'whatsapp', 'logistic', 'payment', 'fraud'] as const;
export type Channel = (typeof CHANNELS)[number];

export const CHANNEL_STATES = [
  'pending',
  'published',
  'retrying',
  'failed',
  'dead_lettered',
  'succeeded',
] as const;
export type ChannelState = (typeof CHANNEL_STATES)[number];

export type OrderStatus = 'accepted' | 'processing' | 'completed' | 'attention' | 'flagged';

export interface OrderSummary {
  readonly id: string;
  readonly reference: string;
  readonly status: OrderStatus;
  readonly placedAt: string;
  readonly customerEmail: string;
  readonly channels: Readonly<Record<Channel, { readonly state: ChannelState; readonly updatedAt: string }>>;
}

export interface OrderPage {
  readonly orders: OrderSummary[];
  readonly nextBefore: string | null;
}

export interface ChannelDetail {
  readonly state: ChannelState;
  readonly messageId: string;
  readonly attempts: number;
  readonly publishedAt: string | null;
  readonly updatedAt: string;
  readonly details: Readonly<Record<string, unknown>>;
}

/** GET /orders/:id (and each `order` event of GET /orders/:id/events, without the customer part). */
export interface OrderDetail {
  readonly id: string;
  readonly reference: string;
  readonly status: OrderStatus;
  readonly placedAt?: string;
  readonly channels: Readonly<Record<Channel, ChannelDetail>>;
}

export type FigureSource = 'amqp' | 'metrics' | 'management';

export interface Figure {
  readonly value: number | null;
  readonly source: FigureSource;
  readonly note: string | null;
}

export interface ServiceStatus {
  readonly service: string;
  readonly queue: string;
  readonly readiness: {
    readonly status: 'ready' | 'degraded' | 'not ready' | 'unknown';
    readonly checks: Readonly<Record<string, boolean>>;
    readonly note: string | null;
  };
  readonly depth: Figure;
  readonly consumers: Figure;
  readonly messagesPerSecond: Figure;
  readonly retrying: Figure;
  readonly deadLetters: Figure;
  readonly brokerRates: { readonly publish: Figure; readonly deliver: Figure; readonly ack: Figure };
}

export interface SourceState {
  readonly available: boolean;
  readonly note: string | null;
}

export interface SystemStatus {
  readonly sampledAt: string;
  readonly sources: Readonly<Record<'amqp' | 'readyz' | 'metrics' | 'management', SourceState>>;
  readonly services: readonly ServiceStatus[];
}

export interface DeadLetter {
  readonly messageId: string | null;
  readonly orderId: string | null;
  readonly type: string | null;
  readonly reason: string;
  readonly detail: string | null;
  readonly deadLetteredAt: string | null;
  readonly attempts: number | null;
  readonly replays: number;
}

export interface DeadLetterSummary {
  readonly service: string;
  readonly queue: string;
  readonly count: number;
  readonly reasons: readonly { reason: string; count: number; example: string | null }[];
}

export interface DeadLetterList extends DeadLetterSummary {
  readonly messages: readonly DeadLetter[];
}

export interface ReplayResult {
  readonly service: string;
  readonly queue: string;
  readonly replayed: readonly DeadLetter[];
  readonly notFound: readonly string[];
}
