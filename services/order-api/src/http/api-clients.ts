import { createHash } from 'node:crypto';

/** The scope that opens the dead-letter endpoints and the operator console. */
export const OPERATOR_SCOPE = 'operator';
/** The scope that lets a client give its customer's IP in the body (API_TRUSTED_FORWARDERS). */
export const FORWARDER_SCOPE = 'forward-ip';

/** A caller the API knows: its name (or a short hash of its key), its key and scopes. */
export interface ApiClient {
  /** Owner of the orders it creates; safe to log (never the key). */
  readonly id: string;
  readonly key: string;
  readonly scopes: readonly string[];
}

/** One `name=key` or bare `key` entry of API_KEYS / API_KEYS_FILE. */
export interface ApiKeyEntry {
  readonly name: string | null;
  readonly key: string;
}

const CLIENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
// Printable ASCII without spaces or commas (the Bearer token's alphabet, less the separator).
const KEY = /^[\x21-\x2b\x2d-\x7e]{16,512}$/;
export const MAX_KEYS_FILE_BYTES = 64 * 1024;

/**
 * Parses `shop-eu=<key>,shop-us=<key>` (commas or newlines; `#` starts a comment line in
 * a file). A bare key is an unnamed client, known by a hash of its key. Error messages
 * never contain a key.
 */
export function parseApiKeys(input: string): ApiKeyEntry[] {
  const entries: ApiKeyEntry[] = [];
  const lines = input.split(/\r?\n/).filter((line) => !line.trim().startsWith('#'));
  for (const part of lines.join(',').split(',')) {
    const entry = part.trim();
    if (!entry) continue;
    // `name=key`, unless what follows the first `=` cannot be a key: then the entry is a
    // bare key that contains `=` (base64 padding).
    const eq = entry.indexOf('=');
    const named = eq > 0 && KEY.test(entry.slice(eq + 1).trim());
    const name = named ? entry.slice(0, eq).trim() : null;
    const key = named ? entry.slice(eq + 1).trim() : entry;
    if (name !== null && !CLIENT_NAME.test(name)) {
      throw new Error(`client names are letters, digits, '.', '_' and '-' (entry ${entries.length + 1})`);
    }
    if (name !== null && (name === 'anonymous' || name.startsWith('key-'))) {
      throw new Error(`the client name ${name} is reserved`);
    }
    if (!KEY.test(key)) {
      throw new Error(
        `each key must be 16 to 512 printable characters without spaces or ',' (${name ?? `entry ${entries.length + 1}`})`,
      );
    }
    entries.push({ name, key });
  }
  return entries;
}

/** The id an unnamed client is known by (in logs, order ownership, API_OPERATORS). */
export function unnamedClientId(key: string): string {
  return `key-${createHash('sha256').update(key).digest('hex').slice(0, 12)}`;
}

/**
 * The clients of API_KEYS (and API_KEYS_FILE), each with the operator scope when
 * API_OPERATORS names it. Throws naming the problem when a name or key is repeated or
 * an operator names no client.
 */
export function apiClients(
  entries: readonly ApiKeyEntry[],
  operators: readonly string[],
  forwarders: readonly string[] = [],
): ApiClient[] {
  const ids = new Set<string>();
  const keys = new Set<string>();
  const clients = entries.map(({ name, key }) => {
    const id = name ?? unnamedClientId(key);
    if (ids.has(id)) throw new Error(`the client ${id} is listed twice`);
    if (keys.has(key)) throw new Error(`the key of ${id} is also another client's key`);
    ids.add(id);
    keys.add(key);
    const scopes = [
      ...(operators.includes(id) ? [OPERATOR_SCOPE] : []),
      ...(forwarders.includes(id) ? [FORWARDER_SCOPE] : []),
    ];
    return { id, key, scopes };
  });
  const unknown = operators.filter((op) => !ids.has(op));
  if (unknown.length > 0) throw new Error(`names no client of API_KEYS: ${unknown.join(', ')}`);
  const unknownForwarders = forwarders.filter((f) => !ids.has(f));
  if (unknownForwarders.length > 0) {
    throw new Error(`forwarders name no client of API_KEYS: ${unknownForwarders.join(', ')}`);
  }
  return clients;
}
