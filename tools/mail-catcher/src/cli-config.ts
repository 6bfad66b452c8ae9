export interface MailCatcherCliConfig {
  host: string;
  smtpPort: number;
  httpPort: number;
  logLevel: string;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const LOG_LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

function port(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65535) {
    throw new ConfigError(`${name} must be a port number between 0 and 65535, got "${raw}"`);
  }
  return value;
}

/** Ports follow the conventions of other local mail catchers (1025 and 8025) so existing habits carry over. */
export function readMailCatcherCliConfig(env: NodeJS.ProcessEnv): MailCatcherCliConfig {
  const logLevel = env.LOG_LEVEL?.trim() || 'info';
  if (!LOG_LEVELS.has(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${[...LOG_LEVELS].join(', ')}, got "${logLevel}"`);
  }
  return {
    host: env.MAIL_CATCHER_HOST?.trim() || '127.0.0.1',
    smtpPort: port(env, 'MAIL_CATCHER_SMTP_PORT', 1025),
    httpPort: port(env, 'MAIL_CATCHER_HTTP_PORT', 8025),
    logLevel,
  };
}
