import { randomUUID } from 'node:crypto';
import { HEADERS } from '@notify/contracts';
import type { Address, CurrencyCode, Customer, RequestMetadata } from '@notify/contracts';
import type { Static } from 'typebox';
import { buildOutboxMessages } from './order-messages.js';
import type { AcceptedOrder, OutboxMessage } from './order-messages.js';
import type { OrderStatus } from './order-status.js';
import { priceOrder } from './pricing.js';

/** An order as a client places it; the edge has validated every field. */
export interface OrderRequest {
  readonly customer: Static<typeof Customer>;
  readonly currency: CurrencyCode;
  readonly items: readonly OrderLineRequest[];
  readonly shippingAddress: Static<typeof Address>;
  readonly billingAddress: Static<typeof Address>;
  readonly paymentMethodToken: string;
  readonly metadata?: Static<typeof RequestMetadata> | undefined;
}

export interface OrderLineRequest {
  readonly sku: string;
  readonly name: string;
  readonly quantity: number;
  readonly unitPrice: number;
  readonly weightGrams: number;
}

/** The answer to a stored order; kept with its Idempotency-Key to be replayed. */
export interface OrderAcceptance {
  readonly id: string;
  readonly reference: string;
  readonly status: OrderStatus;
  readonly placedAt: string;
  readonly currency: CurrencyCode;
  readonly subtotal: number;
  readonly shipping: number;
  readonly total: number;
  readonly links: { readonly self: string };
}

/** A client retried an Idempotency-Key with a different request. */
export class IdempotencyConflictError extends Error {
  constructor(readonly key: string) {
    super('this Idempotency-Key was already used with a different request body');
    this.name = 'IdempotencyConflictError';
  }
}

export interface IdempotencyClaim {
  /** Who sent the key (an API key id, or `anonymous`): keys of different clients never collide. */
  readonly client: string;
  readonly key: string;
  /** Canonical hash of the request body. */
  readonly requestHash: string;
}

/** Only successful answers are stored: a failed request leaves no key behind and may be retried. */
export interface StoredResponse {
  readonly statusCode: 201;
  readonly body: OrderAcceptance;
}

export type InsertOutcome =
  | { readonly kind: 'created' }
  | { readonly kind: 'reference-taken' }
  | { readonly kind: 'key-exists'; readonly requestHash: string; readonly response: StoredResponse };

/** Port to the database: writes the order, its outbox messages and channel states atomically. */
export interface OrderStore {
  insertOrder(
    order: AcceptedOrder,
    messages: readonly OutboxMessage[],
    response: StoredResponse,
    idempotency: IdempotencyClaim | null,
    /** The API client the order belongs to. */
    owner: string,
  ): Promise<InsertOutcome>;
}

export interface CreateOrderResult extends StoredResponse {
  /** True when this answer is the stored answer of an earlier request with the same key. */
  readonly replayed: boolean;
}

export interface CreateOrderContext {
  /** The API client placing the order, which owns it; `anonymous` when absent. */
  readonly client?: string;
  readonly idempotency: IdempotencyClaim | null;
  /** Filled in from the HTTP request when the client did not send them. */
  readonly requestMetadata: Static<typeof RequestMetadata>;
  /** W3C traceparent of the request, carried into the messages so the trace continues. */
  readonly traceparent?: string | undefined;
  readonly now?: () => Date;
  readonly newId?: () => string;
}

export function referenceFor(orderId: string): string {
  return `ORD-${orderId.replace(/-/g, '').slice(0, 12).toUpperCase()}`;
}

/**
 * The story of an order: price it on the server, build its five notifications, and
 * store all of it in one transaction (the outbox relay publishes later). A retried
 * Idempotency-Key gets the stored answer instead of a second order.
 */
export async function createOrder(
  store: OrderStore,
  input: OrderRequest,
  ctx: CreateOrderContext,
): Promise<CreateOrderResult> {
  const totals = priceOrder(input.currency, input.items);
  const now = ctx.now ?? (() => new Date());
  const newId = ctx.newId ?? randomUUID;
  const headers: Record<string, string> = ctx.traceparent ? { [HEADERS.traceparent]: ctx.traceparent } : {};
  // Twelve hex digits make reference collisions rare, not impossible: a clash gets a new id.
  for (let attempt = 0; attempt < 3; attempt++) {
    const id = newId();
    const order: AcceptedOrder = {
      id,
      client: ctx.client ?? 'anonymous',
      reference: referenceFor(id),
      placedAt: now().toISOString(),
      currency: input.currency,
      customer: input.customer,
      totals,
      shippingAddress: input.shippingAddress,
      billingAddress: input.billingAddress,
      paymentMethodToken: input.paymentMethodToken,
      metadata: { ...ctx.requestMetadata, ...input.metadata },
    };
    const response: StoredResponse = {
      statusCode: 201,
      body: {
        id,
        reference: order.reference,
        status: 'accepted',
        placedAt: order.placedAt,
        currency: order.currency,
        subtotal: totals.subtotal,
        shipping: totals.shipping,
        total: totals.total,
        links: { self: `/orders/${id}` },
      },
    };
    const outcome = await store.insertOrder(
      order,
      buildOutboxMessages(order, headers),
      response,
      ctx.idempotency,
      order.client,
    );
    if (outcome.kind === 'created') return { ...response, replayed: false };
    if (outcome.kind === 'key-exists') {
      if (outcome.requestHash !== ctx.idempotency?.requestHash) {
        throw new IdempotencyConflictError(ctx.idempotency?.key ?? '');
      }
      return { ...outcome.response, replayed: true };
    }
  }
  throw new Error('could not allocate a unique order reference');
}
