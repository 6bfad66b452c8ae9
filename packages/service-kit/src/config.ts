import { bool, cleanEnv, makeValidator, num, port, str, url } from 'envalid';
import type { CleanedEnv, ValidatorSpec } from 'envalid';
import type { TopologyMode } from '@notify/messaging';

export { bool, makeValidator, num, port, str, url };

/** A configuration problem found at start-up; the message names every bad variable. */
export class ConfigError extends Error {
  constructor(readonly variables: Record<string, string>) {
    super(
      `invalid configuration: ${Object.entries(variables)
        .map(([k, v]) => `${k} ${v}`)
        .join('; ')}`,
    );
    this.name = 'ConfigError';
  }
}

/**
 * Reads and validates the environment in one place. Throws ConfigError naming each
 * missing or malformed variable (never its value: it may be a secret).
 */
export function loadConfig<S extends Record<string, ValidatorSpec<unknown>>>(
  specs: S,
  env: NodeJS.ProcessEnv = process.env,
): CleanedEnv<S> {
  return cleanEnv(env, specs, {
    reporter: ({ errors }) => {
      const bad: Record<string, string> = {};
      for (const [name, e] of Object.entries(errors)) {
        if (!e) continue;
        const err = e as Error;
        bad[name] =
          err.name === 'EnvMissingError'
            ? 'is required'
            : `is invalid (${err.message.replace(/"[^"]*"/g, '…')})`;
      }
      if (Object.keys(bad).length) throw new ConfigError(bad);
    },
  });
}

/** A TCP port; 0 asks the OS for a free one (tests). */
export const listenPort = makeValidator<number>((input: string) => {
  const n = Number(input);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error('must be a port number 0-65535');
  return n;
});

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  sec: 1_000,
  second: 1_000,
  seconds: 1_000,
  m: 60_000,
  min: 60_000,
  minute: 60_000,
  minutes: 60_000,
  h: 3_600_000,
  hour: 3_600_000,
  hours: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
  days: 86_400_000,
};

/** Milliseconds, written either as a bare integer or as `<n> <unit>` ("1 minute", "30s"). */
export const duration = makeValidator<number>((input: string) => {
  const m = /^\s*(\d+)\s*([a-z]*)\s*$/i.exec(input);
  const unit = UNIT_MS[(m?.[2] || 'ms').toLowerCase()];
  if (!m || unit === undefined || Number(m[1]) <= 0) {
    throw new Error('must be milliseconds or "<n> <unit>" with unit ms, s, min, h or d');
  }
  return Number(m[1]) * unit;
});

export const NODE_ENVS = ['development', 'test', 'production'] as const;

/**
 * The variables every service reads, with their local-run defaults. One name for one
 * thing in every service, so an operator's setting means the same everywhere.
 */
export function commonSpecs(service: {
  defaultPort: number;
  /** OPS_PORT's default; only a service with an API of its own listens on it (default: PORT's). */
  defaultOpsPort?: number | undefined;
  database: string;
  defaultPrefetch?: number | undefined;
  /** DATABASE_POOL_MAX's default (10). */
  defaultPoolMax?: number | undefined;
}) {
  return {
    NODE_ENV: str({ choices: [...NODE_ENVS], default: 'development' }),
    AMQP_URL: url({ default: 'amqp://guest:guest@127.0.0.1:5672', desc: 'RabbitMQ URL' }),
    DATABASE_URL: url({
      default: `postgres://postgres@127.0.0.1:5432/${service.database}`,
      desc: 'PostgreSQL URL',
    }),
    DATABASE_SCHEMA: str({ default: '', desc: 'PostgreSQL schema of this service (default: its name)' }),
    DATABASE_POOL_MAX: num({
      default: service.defaultPoolMax ?? 10,
      desc: "Connections of the work pool; the role's CONNECTION LIMIT must cover every replica (docs/deployment.md)",
    }),
    PORT: listenPort({ default: service.defaultPort }),
    // Loopback unless a deployment says otherwise: a local run exposes nothing to the
    // network, and containers set 0.0.0.0 so probes and peers reach them.
    HOST: str({ default: '127.0.0.1', desc: 'Address the HTTP server binds (0.0.0.0 in containers)' }),
    OPS_PORT: listenPort({
      default: service.defaultOpsPort ?? service.defaultPort,
      desc: 'Port of the operations listener (/healthz, /readyz, /metrics) of a service with its own API',
    }),
    OPS_HOST: str({
      default: '127.0.0.1',
      desc: 'Address the operations listener binds; 0.0.0.0 in containers, for probes and scrapers',
    }),
    HTTP_REQUEST_TIMEOUT: duration({
      default: 30_000,
      desc: 'Time a client has to send a whole request (headers and body); 408 after it',
    }),
    HTTP_CONNECTION_TIMEOUT: duration({
      default: 60_000,
      desc: 'A socket with no traffic either way for this long is closed (event streams send heartbeats)',
    }),
    HTTP_KEEP_ALIVE_TIMEOUT: duration({
      default: 72_000,
      desc: "An idle kept-alive connection is closed after this; above a load balancer's idle timeout",
    }),
    LOG_LEVEL: str({
      choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
      default: 'info',
    }),
    PREFETCH: num({ default: service.defaultPrefetch ?? 16, desc: 'Unacked messages per consumer' }),
    SHUTDOWN_TIMEOUT_MS: num({ default: 25_000 }),
    RETRY_MAX_ATTEMPTS: num({
      default: 0,
      desc: 'Deliveries allowed per message, first included (0: the service default)',
    }),
    RETRY_DELAYS_MS: str({
      default: '',
      desc: 'Comma-separated delays before retry 1, 2, ... (empty: the service default)',
    }),
    TOPOLOGY: str({
      choices: ['', ...TOPOLOGY_MODES],
      default: '',
      desc: 'declare: assert the broker topology; verify: only check it exists (empty: verify in production, declare otherwise)',
    }),
  };
}

const TOPOLOGY_MODES = ['declare', 'verify'] as const satisfies readonly TopologyMode[];

/**
 * Whether the service declares its broker topology or only verifies it. A deployment
 * creates the topology (definitions loaded at broker boot) and gives services no
 * configure permission, so production verifies; the local run, as guest, declares.
 */
export function topologyMode(c: { TOPOLOGY: string; NODE_ENV: string }): TopologyMode {
  if (c.TOPOLOGY === 'declare' || c.TOPOLOGY === 'verify') return c.TOPOLOGY;
  return c.NODE_ENV === 'production' ? 'verify' : 'declare';
}

/** Fastify's server timeouts from HTTP_*_TIMEOUT, the same for every listener of a service. */
export function httpTimeouts(c: {
  HTTP_REQUEST_TIMEOUT: number;
  HTTP_CONNECTION_TIMEOUT: number;
  HTTP_KEEP_ALIVE_TIMEOUT: number;
}): { requestTimeout: number; connectionTimeout: number; keepAliveTimeout: number } {
  return {
    requestTimeout: c.HTTP_REQUEST_TIMEOUT,
    connectionTimeout: c.HTTP_CONNECTION_TIMEOUT,
    keepAliveTimeout: c.HTTP_KEEP_ALIVE_TIMEOUT,
  };
}

/** The retry policy overrides an operator set through RETRY_MAX_ATTEMPTS / RETRY_DELAYS_MS. */
export function retryFromEnv(c: { RETRY_MAX_ATTEMPTS: number; RETRY_DELAYS_MS: string }): {
  maxAttempts?: number;
  delaysMs?: number[];
} {
  const out: { maxAttempts?: number; delaysMs?: number[] } = {};
  if (c.RETRY_MAX_ATTEMPTS > 0) out.maxAttempts = Math.floor(c.RETRY_MAX_ATTEMPTS);
  const delays = c.RETRY_DELAYS_MS.split(',')
    .map((d) => d.trim())
    .filter(Boolean)
    .map(Number);
  if (delays.some((d) => !Number.isFinite(d) || d < 0)) {
    throw new ConfigError({ RETRY_DELAYS_MS: 'must be a comma-separated list of non-negative milliseconds' });
  }
  if (delays.length) out.delaysMs = delays;
  return out;
}

/** In production there is no default for a secret: refuse to start and say which one is missing. */
export function requireInProduction(nodeEnv: string, values: Record<string, string | undefined>): void {
  if (nodeEnv !== 'production') return;
  const missing = Object.entries(values)
    .filter(([, v]) => !v)
    .map(([k]) => k);
  if (missing.length)
    throw new ConfigError(Object.fromEntries(missing.map((k) => [k, 'is required in production'])));
}

// Values that only ever appear in this repository's examples and sandboxes: the
// `CHANGE-ME` markers of secrets/*.env.example, infra/.env.example's `dev-only-` values,
// the sandbox's Twilio account and token, the example account of the Kubernetes
// secrets, and Twilio's magic test number (+15005550006, valid only with test credentials).
const PLACEHOLDER_PATTERNS = [/change-?me/i, /(^|[^a-z])dev-only-/i, /not-secret/i];
const PLACEHOLDER_VALUES = new Set([
  'AC00000000000000000000000000000000',
  'AC0123456789abcdef0123456789abcdef',
  'HX00000000000000000000000000000000',
  '+15005550006',
  'whatsapp:+15005550006',
]);

/** True when `value` (a secret, a URL holding one, a key list) is a known placeholder or sandbox value. */
export function isPlaceholderSecret(value: string | undefined): boolean {
  if (!value) return false;
  if (PLACEHOLDER_VALUES.has(value.trim())) return true;
  let text = value;
  try {
    // URLs carry their secret percent-encoded in the userinfo.
    text = decodeURIComponent(value);
  } catch {
    // not percent-encoded: look at it as it is
  }
  return PLACEHOLDER_PATTERNS.some((p) => p.test(text));
}

/**
 * With NODE_ENV=production, refuses every named variable whose value is a known
 * placeholder or sandbox value, naming the variables (never their values).
 */
export function refusePlaceholderSecrets(
  nodeEnv: string | undefined,
  values: Record<string, string | undefined>,
): void {
  if (nodeEnv !== 'production') return;
  const bad: Record<string, string> = {};
  for (const [name, value] of Object.entries(values)) {
    if (isPlaceholderSecret(value)) {
      bad[name] = 'is an example placeholder or sandbox value, which is refused with NODE_ENV=production';
    }
  }
  if (Object.keys(bad).length) throw new ConfigError(bad);
}
