/**
 * The class of an error thrown by a handler decides the message's fate:
 * RetryableError (and any error that is not classified) -> delayed retry, bounded;
 * PermanentError -> dead-letter queue at once, with the reason in headers;
 * DependencyUnavailableError -> consumption pauses until the dependency is back.
 */
export class RetryableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RetryableError';
  }
}

export class PermanentError extends Error {
  /** Extra detail (e.g. a provider's reply) stored in the dead letter's headers. */
  readonly detail: string | undefined;
  constructor(message: string, options?: { cause?: unknown; detail?: string }) {
    super(message, options);
    this.name = 'PermanentError';
    this.detail = options?.detail;
  }
}

/**
 * A dependency (database, provider, broker) is down and the message is not at fault. A
 * handler may throw it instead of returning Fates.unavailable; the runner pauses
 * consumption for it instead of spending the message's attempts.
 */
export class DependencyUnavailableError extends Error {
  constructor(
    readonly dependency: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(reason, options);
    this.name = 'DependencyUnavailableError';
  }
}

/** The broker returned a mandatory message: no queue was bound for its routing key. */
export class UnroutableError extends Error {
  constructor(
    readonly exchange: string,
    readonly routingKey: string,
    readonly replyText: string,
  ) {
    super(`message to exchange "${exchange}" with routing key "${routingKey}" was returned: ${replyText}`);
    this.name = 'UnroutableError';
  }
}

/** No publisher confirm arrived in time. The message may still have reached the broker. */
export class PublishTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`no publisher confirm within ${timeoutMs} ms`);
    this.name = 'PublishTimeoutError';
  }
}

/** The broker nacked the message or the channel closed before it confirmed. */
export class PublishNotConfirmedError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PublishNotConfirmedError';
  }
}

/** The connection is down or blocked by a broker resource alarm. */
export class BrokerUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BrokerUnavailableError';
  }
}

export function isPermanent(err: unknown): err is PermanentError {
  return err instanceof PermanentError;
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
