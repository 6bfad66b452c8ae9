/** A sender or recipient: an address with an optional display name. */
export interface Mailbox {
  readonly name?: string;
  readonly address: string;
}

// Dot-atom local part and a dotted domain: what a sender address for outgoing mail
// needs to be. Quoted local parts and address literals are legal but no shop uses them.
const ADDRESS =
  /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$/;
const NAMED = /^\s*(?:"((?:[^"\\\r\n]|\\[^\r\n])*)"|([^"<>\r\n]*?))\s*<([^<>\s]+)>\s*$/;

export function isMailAddress(value: string): boolean {
  return value.length <= 254 && ADDRESS.test(value);
}

/**
 * Parses `orders@example.com`, `Notify Shop <orders@example.com>` or
 * `"Notify Shop" <orders@example.com>`. Throws with a message that does not repeat the
 * value, so it can be shown for a configuration variable.
 */
export function parseMailbox(value: string): Mailbox {
  // A line break in a header value is header injection, whatever surrounds it.
  if (/[\r\n]/.test(value)) throw new Error('must not contain line breaks');
  const trimmed = value.trim();
  if (isMailAddress(trimmed)) return { address: trimmed };
  const m = NAMED.exec(trimmed);
  if (!m) throw new Error('must be an address or "Name" <address>');
  const address = m[3] ?? '';
  if (!isMailAddress(address)) throw new Error('does not contain a valid email address');
  const name = (m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] ?? '')).trim();
  return name ? { name, address } : { address };
}

export function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}
