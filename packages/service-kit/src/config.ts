import { bool, cleanEnv, makeValidator, num, port, str, url } from 'envalid';
import type { CleanedEnv, ValidatorSpec } from 'envalid';

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
  database: string;
  defaultPrefetch?: number | undefined;
}) {
  return {
    NODE_ENV: str({ choices: [...NODE_ENVS], default: 'development' }),
    AMQP_URL: url({ default: 'amqp://guest:guest@127.0.0.1:5672', desc: 'RabbitMQ URL' }),
    DATABASE_URL: url({
      default: `postgres://postgres@127.0.0.1:5432/${service.database}`,
      desc: 'PostgreSQL URL',
    }),
    DATABASE_SCHEMA: str({ default: '', desc: 'PostgreSQL schema of this service (default: its name)' }),
    PORT: listenPort({ default: service.defaultPort }),
    HOST: str({ default: '0.0.0.0' }),
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
