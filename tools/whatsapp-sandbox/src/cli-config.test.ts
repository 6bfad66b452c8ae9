import { describe, expect, it } from 'vitest';
import { readWhatsappSandboxCliConfig } from './cli-config.js';
import { DEV_ACCOUNT_SID, DEV_AUTH_TOKEN } from './whatsapp-sandbox.js';

describe('CLI configuration', () => {
  it('defaults to port 8026 on loopback with the obviously fake dev account', () => {
    expect(readWhatsappSandboxCliConfig({})).toEqual({
      host: '127.0.0.1',
      port: 8026,
      accountSid: DEV_ACCOUNT_SID,
      authToken: DEV_AUTH_TOKEN,
      logLevel: 'info',
    });
    expect(DEV_ACCOUNT_SID).toMatch(/^AC0{32}$/);
  });

  it('takes the port and the same Twilio credentials the WhatsApp service reads', () => {
    const accountSid = `AC${'ab'.repeat(16)}`;
    expect(
      readWhatsappSandboxCliConfig({
        WHATSAPP_SANDBOX_PORT: '0',
        TWILIO_ACCOUNT_SID: accountSid,
        TWILIO_AUTH_TOKEN: 'local-token',
        LOG_LEVEL: 'warn',
      }),
    ).toEqual({ host: '127.0.0.1', port: 0, accountSid, authToken: 'local-token', logLevel: 'warn' });
  });

  it('names the variable that holds a bad value', () => {
    expect(() => readWhatsappSandboxCliConfig({ WHATSAPP_SANDBOX_PORT: '-1' })).toThrow(
      /WHATSAPP_SANDBOX_PORT/,
    );
    expect(() => readWhatsappSandboxCliConfig({ TWILIO_ACCOUNT_SID: 'SK123' })).toThrow(/TWILIO_ACCOUNT_SID/);
    expect(() => readWhatsappSandboxCliConfig({ LOG_LEVEL: 'chatty' })).toThrow(/LOG_LEVEL/);
  });
});
