// What the order API answers, as the console reads it (see the API's /openapi.json).

export const CHANNELS = ['email', 'whatsapp', 'logistic', 'payment', 'fraud'] as const;
export type Channel = (typeof CHANNELS)[number];

/** In rank order: a channel only moves to the right (a replay starts it over from published). */
export type ChannelState = 'pending' | 'published' | 'retrying' | 'failed' | 'dead_lettered' | 'succeeded';

export type OrderStatus = 'accepted' | 'processing' | 'completed' | 'attention' | 'flagged';

/** An order in the list: who, when, and where each channel stands. */
export type OrderSummary = Readonly<Record<'id' | 'reference' | 'placedAt' | 'customerEmail', string>> & {
  readonly status: OrderStatus;
  readonly channels: Readonly<Record<Channel, { readonly state: ChannelState; readonly updatedAt: string }>>;
};

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

export type FigureSource = 'amqp' | 'metrics' | 'management' | 'park';

export interface Figure {
  readonly value: number | null;
  readonly source: FigureSource;
  readonly note: string | null;
}

/** The figures of a service row, each with its source. */
export type FigureName = 'depth' | 'consumers' | 'messagesPerSecond' | 'retrying' | 'deadLetters';

export type ServiceStatus = Readonly<Record<FigureName, Figure>> & {
  readonly service: string;
  readonly queue: string;
  readonly readiness: {
    readonly status: 'ready' | 'degraded' | 'not ready' | 'unknown';
    readonly checks: Readonly<Record<string, boolean>>;
    readonly note: string | null;
  };
  readonly brokerRates: Readonly<Record<'publish' | 'deliver' | 'ack', Figure>>;
};

export interface SourceState {
  readonly available: boolean;
  readonly note: string | null;
}

export interface SystemStatus {
  readonly sampledAt: string;
  readonly sources: Readonly<Record<'amqp' | 'readyz' | 'metrics' | 'management' | 'park', SourceState>>;
  readonly services: readonly ServiceStatus[];
}

/** One dead letter as GET /dead-letters/:service lists it; null where the message did not say. */
export type DeadLetter = Readonly<
  Record<'messageId' | 'orderId' | 'type' | 'detail' | 'deadLetteredAt', string | null>
> & {
  readonly reason: string;
  readonly attempts: number | null;
  readonly replays: number;
};

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
