import { DependencyUnavailableError, errorMessage } from '@notify/messaging';

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
]);

// pg-pool's own failures carry no code, only these messages.
const POOL_CONNECTION_FAILURE =
  /timeout exceeded when trying to connect|Connection terminated|Client has encountered a connection error/i;

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

/**
 * True when the database cannot be reached or is not serving: connection problems
 * (SQLSTATE class 08), refused logins (28), resource exhaustion (53), shutdown (57),
 * I/O errors (58), a database that does not exist or accept connections, network
 * errors, and the pool's own connection timeouts. Nothing about the work at hand is
 * wrong; it can only wait for the database.
 */
export function isDatabaseOutage(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const code = codeOf(err);
  if (NETWORK_CODES.has(code)) return true;
  if (/^(08|28|53|57|58)/.test(code)) return true;
  if (code === '3D000' || code === '55000') return true;
  const message = (err as { message?: unknown }).message;
  return typeof message === 'string' && POOL_CONNECTION_FAILURE.test(message);
}

/**
 * True for failures that mean "the database cannot take this now" rather than "this
 * is wrong": an outage, or contention that resolves itself (lock timeouts,
 * serialization failures, deadlocks). The same work may simply be tried again.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  return isDatabaseOutage(err) || ['55P03', '40001', '40P01'].includes(codeOf(err));
}

/** The first database outage along `err` and its `cause` chain (a use case may wrap the driver's error). */
function outageInChain(err: unknown): unknown {
  let e: unknown = err;
  for (let depth = 0; e && depth < 8; depth++) {
    if (isDatabaseOutage(e)) return e;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * A consumer handler's failure as the runner should see it: a database outage, anywhere
 * in the error's cause chain, becomes DependencyUnavailableError('database'), so
 * consumption pauses (not ready, naming the database) and resumes by itself when the
 * database answers, instead of spending the message's attempts; anything else is
 * returned as it is. Every service's consumer goes through it (service-consumer.ts).
 */
export function asDependencyOutage(err: unknown): unknown {
  if (err instanceof DependencyUnavailableError) return err;
  const outage = outageInChain(err);
  if (outage === undefined) return err;
  return new DependencyUnavailableError('database', errorMessage(outage), { cause: err });
}
