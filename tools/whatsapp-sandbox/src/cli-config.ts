import { DEV_ACCOUNT_SID, DEV_AUTH_TOKEN } from './whatsapp-sandbox.js';

export interface WhatsappSandboxCliConfig {
  host: string;
  port: number;
  accountSid: string;
  authToken: string;
  logLevel: string;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const LOG_LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/**
 * Reads the same TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN the WhatsApp service uses, so one
 * environment file configures both sides; without them both fall back to the dev pair.
 */
export function readWhatsappSandboxCliConfig(env: NodeJS.ProcessEnv): WhatsappSandboxCliConfig {
  const rawPort = env.WHATSAPP_SANDBOX_PORT?.trim();
  let port = 8026;
  if (rawPort) {
    port = Number(rawPort);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new ConfigError(
        `WHATSAPP_SANDBOX_PORT must be a port number between 0 and 65535, got "${rawPort}"`,
      );
    }
  }
  const accountSid = env.TWILIO_ACCOUNT_SID?.trim() || DEV_ACCOUNT_SID;
  if (!/^AC[0-9a-fA-F]{32}$/.test(accountSid)) {
    throw new ConfigError(`TWILIO_ACCOUNT_SID must be "AC" followed by 32 hex digits, got "${accountSid}"`);
  }
  const logLevel = env.LOG_LEVEL?.trim() || 'info';
  if (!LOG_LEVELS.has(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${[...LOG_LEVELS].join(', ')}, got "${logLevel}"`);
  }
  return {
    host: env.WHATSAPP_SANDBOX_HOST?.trim() || '127.0.0.1',
    port,
    accountSid,
    authToken: env.TWILIO_AUTH_TOKEN?.trim() || DEV_AUTH_TOKEN,
    logLevel,
  };
}
