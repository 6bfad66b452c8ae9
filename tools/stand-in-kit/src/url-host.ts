/**
 * The host to put in a URL a stand-in reports for its listener: a wildcard address is
 * nothing to connect to, so loopback stands in for it, and an IPv6 literal gets brackets.
 */
export function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}
