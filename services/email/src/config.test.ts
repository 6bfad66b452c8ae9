import { ConfigError } from '@notify/service-kit';
import { describe, expect, it } from 'vitest';
import { loadEmailConfig } from './config.js';
import { parseMailbox } from './mailbox.js';
import { parseSmtpUrl } from './smtp-endpoint.js';

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

const prodEnv = {
  SMTP_URL: 'smtp://mailer:s3cret-pass@smtp.example.net:587',
  MAIL_FROM: '"Notify Shop" <orders@shop.example.com>',
  UNSUBSCRIBE_URL: 'https://api.shop.example.com/unsubscribe',
  UNSUBSCRIBE_SECRET: 'a-real-unsubscribe-secret-0123456789abcdef',
};

describe('loadEmailConfig', () => {
  it('defaults to the local mail catcher and a sample sender outside production', () => {
    const c = loadEmailConfig({}, 'development');
    expect(c.smtp).toEqual({ host: '127.0.0.1', port: 1025, secure: false });
    expect(c.from).toEqual({ name: 'Notify Shop', address: 'orders@example.com' });
    expect(c.messageIdDomain).toBe('example.com');
    expect(c.defaultLocale).toBe('en-GB');
    expect(c.poolSize).toBe(10);
    expect(c.requireTls).toBe(false);
  });

  it('refuses to start in production without SMTP_URL and MAIL_FROM, naming both', () => {
    const err = configError(() => loadEmailConfig({}, 'production'));
    expect(Object.keys(err.variables).sort()).toEqual([
      'MAIL_FROM',
      'SMTP_URL',
      'UNSUBSCRIBE_SECRET',
      'UNSUBSCRIBE_URL',
    ]);
    expect(err.message).toContain('SMTP_URL is required in production');
  });

  it('refuses in production the development unsubscribe secret and a plain-http unsubscribe URL', () => {
    expect(() =>
      loadEmailConfig(
        { ...prodEnv, UNSUBSCRIBE_SECRET: 'dev-only-unsubscribe-secret-0123456789abcdef' },
        'production',
      ),
    ).toThrow(/UNSUBSCRIBE_SECRET is an example placeholder/);
    expect(() =>
      loadEmailConfig(
        { ...prodEnv, UNSUBSCRIBE_URL: 'http://api.shop.example.com/unsubscribe' },
        'production',
      ),
    ).toThrow(/UNSUBSCRIBE_URL must be https/);
    expect(() => loadEmailConfig({ UNSUBSCRIBE_URL: 'ftp://x' }, 'development')).toThrow(/UNSUBSCRIBE_URL/);
  });

  it('refuses the development mail catcher in production, by any loopback name', () => {
    for (const url of ['smtp://127.0.0.1:1025', 'smtp://localhost:1025', 'smtp://[::1]:1025']) {
      const err = configError(() => loadEmailConfig({ ...prodEnv, SMTP_URL: url }, 'production'));
      expect(Object.keys(err.variables)).toEqual(['SMTP_URL']);
      expect(err.message).toContain('development mail catcher');
    }
  });

  it('accepts a real SMTP server in production, requires TLS there by default and never echoes the password', () => {
    const c = loadEmailConfig(prodEnv, 'production');
    expect(c.smtp).toEqual({
      host: 'smtp.example.net',
      port: 587,
      secure: false,
      auth: { user: 'mailer', pass: 's3cret-pass' },
    });
    expect(c.requireTls).toBe(true);
    expect(c.messageIdDomain).toBe('shop.example.com');
    const err = configError(() =>
      loadEmailConfig({ ...prodEnv, SMTP_URL: 'http://mailer:s3cret-pass@smtp.example.net' }, 'production'),
    );
    expect(Object.keys(err.variables)).toEqual(['SMTP_URL']);
    expect(err.message).not.toContain('s3cret-pass');
  });

  it('names each malformed variable', () => {
    const err = configError(() =>
      loadEmailConfig(
        {
          MAIL_FROM: 'Notify Shop <not-an-address>',
          SMTP_POOL_SIZE: '0',
          MAIL_DEFAULT_LOCALE: 'xx-XX',
          MAIL_MESSAGE_ID_DOMAIN: 'bad domain',
        },
        'development',
      ),
    );
    expect(Object.keys(err.variables).sort()).toEqual([
      'MAIL_DEFAULT_LOCALE',
      'MAIL_FROM',
      'MAIL_MESSAGE_ID_DOMAIN',
      'SMTP_POOL_SIZE',
    ]);
  });

  it('insists that a send claim outlasts the SMTP timeouts', () => {
    const err = configError(() =>
      loadEmailConfig({ SMTP_SEND_LEASE_MS: '30000', SMTP_SOCKET_TIMEOUT_MS: '30000' }, 'development'),
    );
    expect(Object.keys(err.variables)).toEqual(['SMTP_SEND_LEASE_MS']);
  });
});

describe('parseSmtpUrl', () => {
  it('reads implicit TLS, default ports and percent-encoded credentials', () => {
    expect(parseSmtpUrl('smtps://smtp.example.net')).toEqual({
      host: 'smtp.example.net',
      port: 465,
      secure: true,
    });
    expect(parseSmtpUrl('smtp://smtp.example.net')).toMatchObject({ port: 587, secure: false });
    expect(parseSmtpUrl('smtp://u%40x:p%2Fw@h.example:2525').auth).toEqual({ user: 'u@x', pass: 'p/w' });
    expect(() => parseSmtpUrl('not a url')).toThrow(/smtp:\/\/host/);
  });
});

describe('parseMailbox', () => {
  it('reads bare, named and quoted senders and rejects the rest', () => {
    expect(parseMailbox('orders@example.com')).toEqual({ address: 'orders@example.com' });
    expect(parseMailbox('Notify Shop <orders@example.com>')).toEqual({
      name: 'Notify Shop',
      address: 'orders@example.com',
    });
    expect(parseMailbox('"Shop, \\"The\\"" <orders@example.com>')).toEqual({
      name: 'Shop, "The"',
      address: 'orders@example.com',
    });
    for (const bad of [
      '',
      'orders',
      'orders@',
      '<orders@example.com',
      'A <b@c> <d@e.com>',
      'x\r\n <a@b.com>',
    ]) {
      expect(() => parseMailbox(bad), bad).toThrow();
    }
  });
});
