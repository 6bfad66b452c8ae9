import { ConfigError, readLogLevel, readPort } from '@notify/stand-in-kit';
import { DEV_ACCOUNT_SID, DEV_AUTH_TOKEN } from './whatsapp-sandbox.js';

export interface WhatsappSandboxCliConfig {
  host: string;
  port: number;
  accountSid: string;
  authToken: string;
  logLevel: string;
}

/**
 * Reads the same TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN the WhatsApp service uses, so one
 * environment file configures both sides; without them both fall back to the dev pair.
 */
export function readWhatsappSandboxCliConfig(env: NodeJS.ProcessEnv): WhatsappSandboxCliConfig {
  const port = readPort(env, 'WHATSAPP_SANDBOX_PORT', 8026);
  const accountSid = env.TWILIO_ACCOUNT_SID?.trim() || DEV_ACCOUNT_SID;
  if (!/^AC[0-9a-fA-F]{32}$/.test(accountSid)) {
    throw new ConfigError(`TWILIO_ACCOUNT_SID must be "AC" followed by 32 hex digits, got "${accountSid}"`);
  }
  const logLevel = readLogLevel(env);
  return {
    host: env.WHATSAPP_SANDBOX_HOST?.trim() || '127.0.0.1',
    port,
    accountSid,
    authToken: env.TWILIO_AUTH_TOKEN?.trim() || DEV_AUTH_TOKEN,
    logLevel,
  };
}
