import { CHANNELS, Timestamp, Uuid } from '@notify/contracts';
import type { Channel } from '@notify/contracts';
import Type from 'typebox';
import { CHANNEL_STATES, ORDER_STATUSES } from '../domain/order-status.js';
import type { ChannelState, OrderStatus } from '../domain/order-status.js';
import { MAX_PAGE, MIN_SEARCH_LENGTH } from './order-summaries.js';
import { FIGURE_SOURCES, SYSTEM_SERVICES } from './system-status.js';
import type { FigureSource, SystemService } from './system-status.js';

// Schemas of the console's API (/console/api/*): request validation, response
// serialization (nothing outside them is ever sent) and the OpenAPI document.

const ChannelSummary = Type.Object(
  {
    state: Type.Unsafe<ChannelState>({ type: 'string', enum: [...CHANNEL_STATES] }),
    updatedAt: Timestamp,
  },
  { additionalProperties: false },
);

export const OrderSummaryView = Type.Object(
  {
    id: Uuid,
    reference: Type.String(),
    status: Type.Unsafe<OrderStatus>({ type: 'string', enum: [...ORDER_STATUSES] }),
    placedAt: Timestamp,
    customerEmail: Type.String(),
    channels: Type.Object(
      Object.fromEntries(CHANNELS.map((c) => [c, ChannelSummary])) as Record<Channel, typeof ChannelSummary>,
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false, description: "An order as the console's list shows it" },
);

export const OrderListQuery = Type.Object(
  {
    q: Type.Optional(
      Type.String({
        minLength: MIN_SEARCH_LENGTH,
        maxLength: 200,
        description:
          'Order id (exact), or the start of the reference or of the customer email (case-insensitive)',
      }),
    ),
    limit: Type.Optional(
      Type.String({ pattern: '^[1-9][0-9]{0,2}$', description: `1-${MAX_PAGE}, default 50` }),
    ),
    before: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z0-9_-]{1,200}$',
        description: '`nextBefore` of the previous page: continue with older orders',
      }),
    ),
  },
  { additionalProperties: false },
);

export const OrderPageView = Type.Object(
  {
    orders: Type.Array(OrderSummaryView),
    nextBefore: Type.Union([Type.String(), Type.Null()], { description: 'null on the last page' }),
  },
  { additionalProperties: false },
);

const Figure = Type.Object(
  {
    value: Type.Union([Type.Number(), Type.Null()]),
    source: Type.Unsafe<FigureSource>({ type: 'string', enum: [...FIGURE_SOURCES] }),
    note: Type.Union([Type.String(), Type.Null()], { description: 'Why the value is null' }),
  },
  { additionalProperties: false },
);

const SourceState = Type.Object(
  { available: Type.Boolean(), note: Type.Union([Type.String(), Type.Null()]) },
  { additionalProperties: false },
);

export const SystemView = Type.Object(
  {
    sampledAt: Timestamp,
    sources: Type.Object(
      {
        amqp: SourceState,
        readyz: SourceState,
        metrics: SourceState,
        management: SourceState,
        park: SourceState,
      },
      {
        additionalProperties: false,
        description:
          "`amqp`: passive queue declares; `readyz` and `metrics`: the services' own endpoints; " +
          '`management`: the broker management API (only with RABBITMQ_MANAGEMENT_URL); ' +
          '`park`: the dead letters the order API parked in its database (`deadLetters`)',
      },
    ),
    services: Type.Array(
      Type.Object(
        {
          service: Type.Unsafe<SystemService>({ type: 'string', enum: [...SYSTEM_SERVICES] }),
          queue: Type.String(),
          readiness: Type.Object(
            {
              status: Type.Unsafe<'ready' | 'degraded' | 'not ready' | 'unknown'>({
                type: 'string',
                enum: ['ready', 'degraded', 'not ready', 'unknown'],
              }),
              checks: Type.Record(Type.String(), Type.Boolean()),
              source: Type.Literal('readyz'),
              note: Type.Union([Type.String(), Type.Null()]),
            },
            { additionalProperties: false },
          ),
          depth: Figure,
          consumers: Figure,
          messagesPerSecond: Figure,
          retrying: Figure,
          deadLetters: Figure,
          brokerRates: Type.Object(
            { publish: Figure, deliver: Figure, ack: Figure },
            { additionalProperties: false },
          ),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
