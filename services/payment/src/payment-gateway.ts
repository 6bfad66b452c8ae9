import type { CurrencyCode } from '@notify/contracts';

// The port through which the payment service talks to a card processor. An adapter
// answers with an authorisation or a decline (both are outcomes), or throws:
// GatewayTransientError (and GatewayTimeoutError) when asking again may help,
// GatewayRequestError when the processor refused the request itself.

export interface AuthorizationRequest {
  /** The processor answers a repeated key with its first answer and never charges twice. */
  readonly idempotencyKey: string;
  /** Integer minor units of `currency`. */
  readonly amount: number;
  readonly currency: CurrencyCode;
  /** Opaque payment method token; never card data. Never logged. */
  readonly token: string;
  readonly description?: string;
  readonly customer?: { readonly name: string; readonly email: string };
  readonly billingCountry?: string;
}

export type AuthorizationResult =
  | { readonly status: 'authorized'; readonly authorizationId: string }
  | { readonly status: 'declined'; readonly code: string; readonly reason: string };

export interface PaymentGateway {
  /** Name published with every outcome, e.g. `simulated-card-processor`. */
  readonly name: string;
  authorize(request: AuthorizationRequest, options?: { signal?: AbortSignal }): Promise<AuthorizationResult>;
}

/** The processor could not be reached or answered with a server error; the same request may succeed later. */
export class GatewayTransientError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GatewayTransientError';
  }
}

/**
 * No answer in time. Whether the processor acted is unknown, which is why a retry
 * sends the same idempotency key: it returns the first result if there was one.
 */
export class GatewayTimeoutError extends GatewayTransientError {
  constructor(message: string) {
    super(message);
    this.name = 'GatewayTimeoutError';
  }
}

/** The processor refused the request as malformed or conflicting; sending it again cannot help. */
export class GatewayRequestError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'GatewayRequestError';
  }
}
