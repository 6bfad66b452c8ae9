/** Where the SMTP transport connects, parsed from SMTP_URL. */
export interface SmtpEndpoint {
  readonly host: string;
  readonly port: number;
  /** Implicit TLS from the first byte (smtps://); otherwise STARTTLS when offered or required. */
  readonly secure: boolean;
  readonly auth?: { readonly user: string; readonly pass: string };
}

/**
 * Parses `smtp://[user:pass@]host[:port]` or `smtps://...`. Errors never repeat the
 * value: it may carry a password.
 */
export function parseSmtpUrl(value: string): SmtpEndpoint {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error('must be a URL like smtp://host:port');
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') throw new Error('must use smtp:// or smtps://');
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) throw new Error('must name a host');
  const secure = url.protocol === 'smtps:';
  // 587 (submission) rather than 25: 25 is for server-to-server relay and often blocked.
  const port = url.port ? Number(url.port) : secure ? 465 : 587;
  const user = decodeURIComponent(url.username);
  const pass = decodeURIComponent(url.password);
  return { host, port, secure, ...(user ? { auth: { user, pass } } : {}) };
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '0.0.0.0']);

/** The development mail catcher's address: loopback on its SMTP port. */
export const MAIL_CATCHER_PORT = 1025;

export function isLocalMailCatcher(endpoint: SmtpEndpoint): boolean {
  const host = endpoint.host.toLowerCase();
  return endpoint.port === MAIL_CATCHER_PORT && (LOOPBACK.has(host) || host.startsWith('127.'));
}
