import { readFileSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { SERVICE_CATALOGUE } from '@notify/contracts';
import {
  bool,
  commonSpecs,
  ConfigError,
  duration,
  loadConfig,
  makeValidator,
  num,
  DEV_UNSUBSCRIBE_SECRET,
  refusePlaceholderSecrets,
  requireInProduction,
  str,
  unsubscribeSecret,
} from '@notify/service-kit';
import { apiClients, MAX_KEYS_FILE_BYTES, parseApiKeys } from './http/api-clients.js';
import type { ApiClient, ApiKeyEntry } from './http/api-clients.js';
import { channelOwnerList } from './status/channel-owners.js';

const SERVICE = SERVICE_CATALOGUE['order-api'];

export const SERVICE_NAME = SERVICE.name;

/** `name=key` or bare `key` entries, comma-separated; empty means no authentication. */
export const apiKeyList = makeValidator<ApiKeyEntry[]>((input: string) => parseApiKeys(input));

/** Comma-separated client names. */
const nameList = makeValidator<string[]>((input: string) =>
  input
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean),
);

/**
 * Which proxies may say who the client is: `false` (the connection's address), a number
 * of trusted hops, or comma-separated IPs/CIDRs. `true` trusts every hop (any client could
 * pick its address) and is refused in production.
 */
export const trustProxy = makeValidator<boolean | number | string[]>((input: string) => {
  const v = input.trim();
  if (v === 'false' || v === '0' || v === '') return false;
  if (v === 'true') return true;
  if (/^[1-9]\d?$/.test(v)) return Number(v);
  const list = v
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  for (const entry of list) {
    const [address, bits, extra] = entry.split('/');
    const version = isIP(address ?? '');
    const max = version === 6 ? 128 : 32;
    const okBits = bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= max);
    if (!version || !okBits || extra !== undefined)
      throw new Error('must be false, a hop count, or IPs/CIDRs');
  }
  return list;
});

/** API_KEYS_FILE's entries (a secrets manager's mounted file); never echoes its content. */
function readKeysFile(path: string): ApiKeyEntry[] {
  let text: string;
  try {
    if (statSync(path).size > MAX_KEYS_FILE_BYTES)
      throw new Error(`is larger than ${MAX_KEYS_FILE_BYTES} bytes`);
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError({
      API_KEYS_FILE: `cannot be read (${(err as Error).message.replace(path, '<file>')})`,
    });
  }
  try {
    return parseApiKeys(text);
  } catch (err) {
    throw new ConfigError({ API_KEYS_FILE: `is invalid (${(err as Error).message})` });
  }
}

/** Empty (no Redis) or a redis:// or rediss:// URL. */
const redisUrl = makeValidator<string>((input: string) => {
  if (input === '') return '';
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new Error('must be a redis:// or rediss:// URL');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:')
    throw new Error('must be a redis:// or rediss:// URL');
  return input;
});

export function loadOrderApiConfig(env: NodeJS.ProcessEnv = process.env) {
  const config = loadConfig(
    {
      ...commonSpecs({
        defaultPort: SERVICE.port,
        defaultOpsPort: SERVICE.opsPort,
        defaultPoolMax: SERVICE.poolMax,
        database: 'notify',
      }),
      API_KEYS: apiKeyList({
        default: [],
        desc: 'Clients and their bearer keys, `name=key` (or a bare key) comma-separated; empty (with no API_KEYS_FILE) disables auth',
      }),
      API_KEYS_FILE: str({
        default: '',
        desc: 'A file with more API_KEYS entries, one per line or comma-separated',
      }),
      API_OPERATORS: nameList({
        default: [],
        desc: 'Clients that also have the operator scope (dead-letter endpoints, console)',
      }),
      ALLOW_ANONYMOUS: bool({
        default: false,
        desc: 'Allow starting in production without API_KEYS (only behind a gateway that authenticates)',
      }),
      RATE_LIMIT_MAX: num({ default: 6_000, desc: 'Requests per client per window; 0 disables' }),
      RATE_LIMIT_WINDOW: duration({ default: 60_000, desc: 'Rate limit window' }),
      REDIS_URL: redisUrl({
        default: '',
        desc: "Redis holding the rate limit's counters, shared by every replica (empty: in this process's memory)",
      }),
      RATE_LIMIT_REDIS_PREFIX: str({
        default: 'order-api:rate-limit:',
        desc: "Prefix of the rate limit's keys in Redis",
      }),
      BODY_LIMIT_BYTES: num({ default: 64 * 1024 }),
      TRUST_PROXY: trustProxy({
        default: false,
        desc: 'Proxies trusted to report the client IP in X-Forwarded-For: false, a number of hops, or IPs/CIDRs',
      }),
      API_TRUSTED_FORWARDERS: nameList({
        default: [],
        desc: "Clients that may send their customers' IP in metadata.ip",
      }),
      RELAY_ENABLED: bool({ default: true, desc: 'Run the outbox relay in this process' }),
      OUTBOX_BATCH_SIZE: num({ default: 100 }),
      OUTBOX_CONCURRENCY: num({ default: 2, desc: 'Claim loops per relay' }),
      OUTBOX_POLL_INTERVAL_MS: num({ default: 5_000, desc: 'Safety poll when no NOTIFY arrives' }),
      OUTBOX_MAX_BACKOFF_MS: num({ default: 30_000 }),
      PUBLISH_TIMEOUT_MS: num({ default: 10_000 }),
      STATUS_CONSUMER_ENABLED: bool({
        default: true,
        desc: 'Consume outcome events (order-api.events) into channel states in this process',
      }),
      STATUS_CONSUMER_PREFETCH: num({ default: 32 }),
      CHANNEL_OWNERS: channelOwnerList({
        default: {},
        desc: "Broker user whose outcome events each channel accepts (email=email,...); unnamed channels: the API's own user",
      }),
      PARK_DEAD_LETTERS: bool({
        default: true,
        desc: 'Move dead letters and unroutable messages out of the broker into the parked_letters table in this process',
      }),
      SSE_MAX_STREAMS: num({ default: 1_000, desc: 'Open GET /orders/:id/events streams per process' }),
      SSE_MAX_STREAMS_PER_CLIENT: num({
        default: 20,
        desc: 'Open GET /orders/:id/events streams per API client per process (429 beyond)',
      }),
      SSE_HEARTBEAT_MS: num({ default: 15_000, desc: 'Keep-alive comment interval on event streams' }),
      IDEMPOTENCY_KEY_TTL: duration({
        default: 86_400_000,
        desc: 'How long an Idempotency-Key and its answer are kept at least; after that the key may be used again',
      }),
      OUTBOX_RETENTION: duration({
        default: 7 * 86_400_000,
        desc: 'How long published outbox rows are kept (for inspection) before the sweeper removes them',
      }),
      RETENTION_INTERVAL: duration({ default: 600_000, desc: 'Time between retention sweeps' }),
      RETENTION_ENABLED: bool({ default: true, desc: 'Run the retention sweeper in this process' }),
      PARKED_LETTERS_MAX: num({
        default: 100_000,
        desc: 'Most dead letters and unroutable messages the park keeps; when full, the rest wait in their broker queues (not ready, parked_letters_limit) until letters are replayed',
      }),
      UNSUBSCRIBE_SECRET: unsubscribeSecret({
        default: DEV_UNSUBSCRIBE_SECRET,
        desc: "HMAC key of the email unsubscribe links (the email service's UNSUBSCRIBE_SECRET); refused as the development value in production",
      }),
      PREFERENCES_REPUBLISH_INTERVAL: duration({
        default: 5_000,
        desc: 'How often preference changes the broker has not confirmed are published again',
      }),
    },
    env,
  );
  if (!Number.isInteger(config.PARKED_LETTERS_MAX) || config.PARKED_LETTERS_MAX < 1) {
    throw new ConfigError({ PARKED_LETTERS_MAX: 'must be a whole number of letters, 1 or more' });
  }
  // The development secret is no secret: production names its own.
  requireInProduction(config.NODE_ENV, { UNSUBSCRIBE_SECRET: env.UNSUBSCRIBE_SECRET });
  const fileEntries = config.API_KEYS_FILE ? readKeysFile(config.API_KEYS_FILE) : [];
  const entries = [...config.API_KEYS, ...fileEntries];
  // The examples' keys and passwords (CHANGE-ME, dev-only-) never guard a production API.
  refusePlaceholderSecrets(config.NODE_ENV, {
    API_KEYS: config.API_KEYS.map((e) => e.key).join(','),
    API_KEYS_FILE: fileEntries.map((e) => e.key).join(','),
    DATABASE_URL: config.DATABASE_URL,
    AMQP_URL: config.AMQP_URL,
    UNSUBSCRIBE_SECRET: config.UNSUBSCRIBE_SECRET,
    REDIS_URL: config.REDIS_URL,
  });
  let clients: ApiClient[];
  try {
    clients = apiClients(entries, config.API_OPERATORS, config.API_TRUSTED_FORWARDERS);
  } catch (err) {
    const message = (err as Error).message;
    throw new ConfigError(
      message.startsWith('names no client')
        ? { API_OPERATORS: message }
        : message.startsWith('forwarders ')
          ? { API_TRUSTED_FORWARDERS: message.replace('forwarders ', '') }
          : { [config.API_KEYS_FILE ? 'API_KEYS/API_KEYS_FILE' : 'API_KEYS']: `is invalid (${message})` },
    );
  }
  if (config.NODE_ENV === 'production' && config.TRUST_PROXY === true) {
    throw new ConfigError({
      TRUST_PROXY:
        'true trusts every X-Forwarded-For hop, so any client could choose its address; give the number of proxies or their CIDRs',
    });
  }
  // A stream's heartbeat is its only traffic: one slower than the idle timeout gets its socket closed.
  if (config.HTTP_CONNECTION_TIMEOUT > 0 && config.SSE_HEARTBEAT_MS >= config.HTTP_CONNECTION_TIMEOUT) {
    throw new ConfigError({ SSE_HEARTBEAT_MS: 'must be shorter than HTTP_CONNECTION_TIMEOUT' });
  }
  // An API that places orders and replays dead letters is never open by accident.
  if (config.NODE_ENV === 'production' && clients.length === 0 && !config.ALLOW_ANONYMOUS) {
    throw new ConfigError({
      API_KEYS: 'is required in production (or set ALLOW_ANONYMOUS=true behind an authenticating gateway)',
    });
  }
  return { ...config, clients };
}

export type OrderApiConfig = ReturnType<typeof loadOrderApiConfig>;
