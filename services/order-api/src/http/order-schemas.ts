import {
  Address,
  CHANNELS,
  Currency,
  Customer,
  MinorUnits,
  PaymentToken,
  Quantity,
  RequestMetadata,
  Sku,
  Text,
  Timestamp,
  Uuid,
  WeightGrams,
} from '@notify/contracts';
import type { Channel } from '@notify/contracts';
import Type from 'typebox';
import type { Static, TSchema } from 'typebox';
import { CHANNEL_STATES, ORDER_STATUSES } from '../domain/order-status.js';
import type { ChannelState, OrderStatus } from '../domain/order-status.js';

// Route schemas: the one source of request validation, handler types and the OpenAPI
// document. Every field reuses the primitives of @notify/contracts, so what the edge
// accepts is exactly what the messages can carry.

export const MAX_ITEMS = 100;

export const OrderItemInput = Type.Object(
  {
    sku: Sku,
    name: Text(200),
    quantity: Quantity,
    unitPrice: MinorUnits,
    weightGrams: WeightGrams,
  },
  { additionalProperties: false },
);

export const CreateOrderBody = Type.Object(
  {
    customer: Customer,
    currency: Currency,
    items: Type.Array(OrderItemInput, { minItems: 1, maxItems: MAX_ITEMS }),
    shippingAddress: Address,
    billingAddress: Address,
    paymentMethodToken: PaymentToken,
    metadata: Type.Optional(RequestMetadata),
  },
  {
    additionalProperties: false,
    description:
      'An order. Totals are computed by the server; sending any field not listed here (totals included) is rejected.',
  },
);
export type CreateOrderInput = Static<typeof CreateOrderBody>;

/** Opaque client-chosen key; a UUID fits. */
export const IDEMPOTENCY_KEY_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._:-]{7,127}$';

export const CreateOrderHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      pattern: IDEMPOTENCY_KEY_PATTERN,
      maxLength: 128,
      description:
        'Retries with the same key and body return the original response; a different body is refused (422)',
    }),
  ),
});

export const OrderIdParams = Type.Object({ id: Uuid }, { additionalProperties: false });

const statusSchema = Type.Unsafe<OrderStatus>({
  type: 'string',
  enum: [...ORDER_STATUSES],
  description: 'Overall status derived from the channels (see the README)',
});

const Links = Type.Object({ self: Type.String() }, { additionalProperties: false });

export const OrderAccepted = Type.Object(
  {
    id: Uuid,
    reference: Type.String(),
    status: statusSchema,
    placedAt: Timestamp,
    currency: Currency,
    subtotal: MinorUnits,
    shipping: MinorUnits,
    total: MinorUnits,
    links: Links,
  },
  { additionalProperties: false },
);

const ChannelStatus = Type.Object(
  {
    state: Type.Unsafe<ChannelState>({ type: 'string', enum: [...CHANNEL_STATES] }),
    messageId: Type.String(),
    attempts: Type.Integer({ minimum: 0 }),
    publishedAt: Type.Union([Timestamp, Type.Null()]),
    updatedAt: Timestamp,
    details: Type.Object({}, { additionalProperties: true }),
  },
  { additionalProperties: false },
);

const channelProps = Object.fromEntries(CHANNELS.map((c) => [c, ChannelStatus])) as Record<
  Channel,
  typeof ChannelStatus
>;

export const OrderView = Type.Object(
  {
    id: Uuid,
    reference: Type.String(),
    status: statusSchema,
    placedAt: Timestamp,
    currency: Currency,
    customer: Customer,
    items: Type.Array(
      Type.Object(
        {
          sku: Sku,
          name: Type.String(),
          quantity: Quantity,
          unitPrice: MinorUnits,
          weightGrams: WeightGrams,
          lineTotal: MinorUnits,
        },
        { additionalProperties: false },
      ),
    ),
    itemCount: Type.Integer({ minimum: 1 }),
    subtotal: MinorUnits,
    shipping: MinorUnits,
    total: MinorUnits,
    shippingAddress: Address,
    billingAddress: Address,
    channels: Type.Object(channelProps, { additionalProperties: false }),
    links: Links,
  },
  { additionalProperties: false },
);
export type OrderViewBody = Static<typeof OrderView>;

export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.Optional(Type.String()),
    instance: Type.Optional(Type.String()),
    errors: Type.Optional(
      Type.Array(
        Type.Object({ field: Type.String(), message: Type.String() }, { additionalProperties: false }),
      ),
    ),
  },
  { additionalProperties: false, description: 'RFC 9457 problem details' },
);

/** Error responses a route documents, all `application/problem+json`. */
export function problemResponses(...statuses: number[]): Record<number, TSchema> {
  return Object.fromEntries(statuses.map((s) => [s, problemContent]));
}
const problemContent = Type.Unsafe({
  description: 'Problem details (RFC 9457)',
  content: { 'application/problem+json': { schema: Problem } },
});
