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
