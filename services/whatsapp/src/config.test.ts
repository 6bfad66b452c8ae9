import { ConfigError } from '@notify/service-kit';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import {
  loadWhatsappConfig,
  SANDBOX_ACCOUNT_SID,
  SANDBOX_API_BASE_URL,
  SANDBOX_CONTENT_SID,
  TWILIO_API_BASE_URL,
} from './config.js';
import { startWhatsappService } from './service.js';

const REAL = {
  TWILIO_ACCOUNT_SID: `AC${'1'.repeat(32)}`,
  TWILIO_AUTH_TOKEN: 'real-token-value-7f3a',
  TWILIO_WHATSAPP_FROM: '+14155238886',
  TWILIO_CONTENT_SID: `HX${'2'.repeat(32)}`,
  WHATSAPP_STATUS_CALLBACK_URL: 'https://hooks.example.com/twilio/status',
};

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadWhatsappConfig', () => {
  it("keeps Twilio's default WhatsApp throughput unless told otherwise, and refuses limits that stop every send", () => {
    const dev = { NODE_ENV: 'development' } as const;
    expect(loadWhatsappConfig({}, dev).limits).toEqual({ concurrency: 8, perSecond: 80 });
    expect(loadWhatsappConfig({ TWILIO_CONCURRENCY: '32', TWILIO_MAX_PER_SECOND: '0' }, dev).limits).toEqual({
      concurrency: 32,
      perSecond: 0,
    });
    const err = configError(() =>
      loadWhatsappConfig({ TWILIO_CONCURRENCY: '0', TWILIO_MAX_PER_SECOND: '-5' }, dev),
    );
    expect(Object.keys(err.variables).sort()).toEqual(['TWILIO_CONCURRENCY', 'TWILIO_MAX_PER_SECOND']);
  });

  it('holds a send claim for two minutes by default, and refuses a lease a call to Twilio could outlast', () => {
    const dev = { NODE_ENV: 'development' } as const;
    expect(loadWhatsappConfig({}, dev).sendLeaseMs).toBe(120_000);
    expect(
      loadWhatsappConfig({ TWILIO_REQUEST_TIMEOUT_MS: '5000', WHATSAPP_SEND_LEASE_MS: '15000' }, dev)
        .sendLeaseMs,
    ).toBe(15_000);
    const err = configError(() =>
      loadWhatsappConfig({ TWILIO_REQUEST_TIMEOUT_MS: '15000', WHATSAPP_SEND_LEASE_MS: '30000' }, dev),
    );
    expect(Object.keys(err.variables)).toEqual(['WHATSAPP_SEND_LEASE_MS']);
  });

  it('in production, names each missing Twilio variable', () => {
    const err = configError(() =>
      loadWhatsappConfig({ TWILIO_WHATSAPP_FROM: REAL.TWILIO_WHATSAPP_FROM }, { NODE_ENV: 'production' }),
    );
    expect(Object.keys(err.variables).sort()).toEqual([
      'TWILIO_ACCOUNT_SID',
      'TWILIO_AUTH_TOKEN',
      'TWILIO_CONTENT_SID',
      'WHATSAPP_STATUS_CALLBACK_URL',
    ]);
    expect(err.message).toContain('TWILIO_AUTH_TOKEN is required in production');
  });

  it('in production, needs no content SID in session mode', () => {
    const { TWILIO_CONTENT_SID: _, ...rest } = REAL;
    const config = loadWhatsappConfig({ ...rest, WHATSAPP_MODE: 'session' }, { NODE_ENV: 'production' });
    expect(config).toMatchObject({ mode: 'session', apiBaseUrl: TWILIO_API_BASE_URL, usingSandbox: false });
  });

  it('in production, refuses a local sandbox base URL and never echoes the token', () => {
    for (const base of ['http://127.0.0.1:8026', 'http://localhost:8026', 'http://[::1]:8026']) {
      const err = configError(() =>
        loadWhatsappConfig({ ...REAL, TWILIO_API_BASE_URL: base }, { NODE_ENV: 'production' }),
      );
      expect(err.variables).toHaveProperty('TWILIO_API_BASE_URL');
      expect(err.message).not.toContain(REAL.TWILIO_AUTH_TOKEN);
    }
  });

  it("in production, refuses the sandbox's development account", () => {
    const err = configError(() =>
      loadWhatsappConfig({ ...REAL, TWILIO_ACCOUNT_SID: SANDBOX_ACCOUNT_SID }, { NODE_ENV: 'production' }),
    );
    expect(err.variables).toHaveProperty('TWILIO_ACCOUNT_SID');
  });

  it("in production, refuses the examples' CHANGE-ME token, the sandbox token and Twilio's test number, naming each", () => {
    const err = configError(() =>
      loadWhatsappConfig(
        {
          ...REAL,
          TWILIO_AUTH_TOKEN: 'CHANGE-ME',
          TWILIO_ACCOUNT_SID: 'AC0123456789abcdef0123456789abcdef',
          TWILIO_WHATSAPP_FROM: '+15005550006',
        },
        { NODE_ENV: 'production' },
      ),
    );
    expect(Object.keys(err.variables).sort()).toEqual([
      'TWILIO_ACCOUNT_SID',
      'TWILIO_AUTH_TOKEN',
      'TWILIO_WHATSAPP_FROM',
    ]);
    expect(err.message).toMatch(/TWILIO_AUTH_TOKEN is an example placeholder or sandbox value/);
    expect(err.message).not.toContain('CHANGE-ME');
    const sandboxToken = configError(() =>
      loadWhatsappConfig(
        { ...REAL, TWILIO_AUTH_TOKEN: 'sandbox-dev-auth-token-not-secret' },
        { NODE_ENV: 'production' },
      ),
    );
    expect(Object.keys(sandboxToken.variables)).toEqual(['TWILIO_AUTH_TOKEN']);
    // Outside production the examples' values still run the local stack.
    expect(() =>
      loadWhatsappConfig({ ...REAL, TWILIO_AUTH_TOKEN: 'CHANGE-ME' }, { NODE_ENV: 'development' }),
    ).not.toThrow();
  });

  it('in development without an account, sends to the local sandbox with its development credentials', () => {
    const config = loadWhatsappConfig({}, { NODE_ENV: 'development' });
    expect(config).toMatchObject({
      accountSid: SANDBOX_ACCOUNT_SID,
      apiBaseUrl: SANDBOX_API_BASE_URL,
      usingSandbox: true,
      mode: 'template',
      contentSid: SANDBOX_CONTENT_SID,
      statusCallbackUrl: undefined,
    });
  });

  it('in development with a real account, talks to Twilio and needs every credential', () => {
    const err = configError(() =>
      loadWhatsappConfig({ TWILIO_ACCOUNT_SID: REAL.TWILIO_ACCOUNT_SID }, { NODE_ENV: 'development' }),
    );
    expect(Object.keys(err.variables)).toEqual(
      expect.arrayContaining(['TWILIO_AUTH_TOKEN', 'TWILIO_WHATSAPP_FROM']),
    );
    expect(loadWhatsappConfig(REAL, { NODE_ENV: 'development' })).toMatchObject({
      apiBaseUrl: TWILIO_API_BASE_URL,
      usingSandbox: false,
    });
  });

  it('reads per-locale content SIDs and rejects unknown locales or malformed SIDs', () => {
    const de = `HX${'d'.repeat(32)}`;
    const config = loadWhatsappConfig(
      { ...REAL, TWILIO_CONTENT_SIDS: ` de-DE=${de} , fr-FR=${de}` },
      { NODE_ENV: 'production' },
    );
    expect(config.contentSidsByLocale).toEqual({ 'de-DE': de, 'fr-FR': de });
    for (const bad of [`xx-XX=${de}`, 'de-DE=HX123', 'de-DE']) {
      const err = configError(() =>
        loadWhatsappConfig({ ...REAL, TWILIO_CONTENT_SIDS: bad }, { NODE_ENV: 'production' }),
      );
      expect(err.variables).toHaveProperty('TWILIO_CONTENT_SIDS');
    }
  });

  it("accepts the sender bare or in Twilio's own whatsapp: form, and keeps it bare", () => {
    for (const from of ['+14155238886', 'whatsapp:+14155238886']) {
      const config = loadWhatsappConfig({ ...REAL, TWILIO_WHATSAPP_FROM: from }, { NODE_ENV: 'production' });
      expect(config.from).toBe('+14155238886');
    }
    for (const bad of [
      'whatsapp:4155238886',
      'whatsapp:',
      'sms:+14155238886',
      'whatsapp:whatsapp:+14155238886',
    ]) {
      const err = configError(() =>
        loadWhatsappConfig({ ...REAL, TWILIO_WHATSAPP_FROM: bad }, { NODE_ENV: 'production' }),
      );
      expect(err.variables).toHaveProperty('TWILIO_WHATSAPP_FROM');
    }
  });

  it('rejects a sender that is not E.164 and an unknown mode', () => {
    const err = configError(() =>
      loadWhatsappConfig(
        { ...REAL, TWILIO_WHATSAPP_FROM: '4155238886', WHATSAPP_MODE: 'broadcast' },
        { NODE_ENV: 'development' },
      ),
    );
    expect(Object.keys(err.variables).sort()).toEqual(['TWILIO_WHATSAPP_FROM', 'WHATSAPP_MODE']);
  });
});

describe('startWhatsappService', () => {
  it('refuses to start in production without Twilio credentials and says which are missing', async () => {
    const started = startWhatsappService(
      { NODE_ENV: 'production', TWILIO_AUTH_TOKEN: REAL.TWILIO_AUTH_TOKEN },
      { logger: pino({ level: 'silent' }) },
    );
    await expect(started).rejects.toBeInstanceOf(ConfigError);
    await expect(started).rejects.toThrow(/TWILIO_ACCOUNT_SID is required in production/);
    await expect(started).rejects.toThrow(/TWILIO_WHATSAPP_FROM is required in production/);
    await expect(started).rejects.not.toThrow(/TWILIO_AUTH_TOKEN/);
  });
});
