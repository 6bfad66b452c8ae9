import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@notify/service-kit';
import { afterAll, describe, expect, it } from 'vitest';
import { loadOrderApiConfig } from './config.js';

describe('loadOrderApiConfig', () => {
  it('has local defaults: port 3000, no auth, a rate limit, a 64 KiB body limit', () => {
    const c = loadOrderApiConfig({});
    expect(c).toMatchObject({ PORT: 3000, API_KEYS: [], RATE_LIMIT_MAX: 6000, RATE_LIMIT_WINDOW: 60_000 });
    expect(c.BODY_LIMIT_BYTES).toBe(65_536);
  });

  it('keeps operations on loopback port 3006 by default, and refuses a stream heartbeat slower than the idle timeout', () => {
    expect(loadOrderApiConfig({})).toMatchObject({
      OPS_PORT: 3006,
      OPS_HOST: '127.0.0.1',
      HOST: '127.0.0.1',
    });
    expect(loadOrderApiConfig({})).toMatchObject({
      HTTP_REQUEST_TIMEOUT: 30_000,
      HTTP_CONNECTION_TIMEOUT: 60_000,
    });
    expect(() =>
      loadOrderApiConfig({ SSE_HEARTBEAT_MS: '60000', HTTP_CONNECTION_TIMEOUT: '1 minute' }),
    ).toThrow(/SSE_HEARTBEAT_MS must be shorter than HTTP_CONNECTION_TIMEOUT/);
  });

  it('reads keys and windows in their written forms', () => {
    const c = loadOrderApiConfig({
      API_KEYS: ' key-one-0123456789abcdef , key-two-0123456789abcdef,',
      RATE_LIMIT_WINDOW: '30s',
    });
    expect(c.clients.map((k) => k.key)).toEqual(['key-one-0123456789abcdef', 'key-two-0123456789abcdef']);
    expect(c.RATE_LIMIT_WINDOW).toBe(30_000);
    expect(loadOrderApiConfig({ RATE_LIMIT_WINDOW: '1 minute' }).RATE_LIMIT_WINDOW).toBe(60_000);
    expect(loadOrderApiConfig({ RATE_LIMIT_WINDOW: '250' }).RATE_LIMIT_WINDOW).toBe(250);
    expect(loadOrderApiConfig({ OUTBOX_RETENTION: '30 days' }).OUTBOX_RETENTION).toBe(30 * 86_400_000);
  });

  it('keeps idempotency keys a day and published outbox rows a week by default, swept every 10 min', () => {
    expect(loadOrderApiConfig({})).toMatchObject({
      IDEMPOTENCY_KEY_TTL: 86_400_000,
      OUTBOX_RETENTION: 7 * 86_400_000,
      RETENTION_INTERVAL: 600_000,
      RETENTION_ENABLED: true,
    });
  });

  it('caps the dead-letter park at 100,000 letters by default, and refuses a cap that keeps nothing', () => {
    expect(loadOrderApiConfig({}).PARKED_LETTERS_MAX).toBe(100_000);
    expect(loadOrderApiConfig({ PARKED_LETTERS_MAX: '500' }).PARKED_LETTERS_MAX).toBe(500);
    for (const bad of ['0', '-1', '2.5']) {
      expect(() => loadOrderApiConfig({ PARKED_LETTERS_MAX: bad }), bad).toThrow(/PARKED_LETTERS_MAX/);
    }
  });

  it('names each bad variable without echoing its value', () => {
    let err: unknown;
    try {
      loadOrderApiConfig({ API_KEYS: 'short-secret', RATE_LIMIT_WINDOW: 'soon', PORT: 'x' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as Error).message;
    expect(message).toContain('API_KEYS');
    expect(message).toContain('RATE_LIMIT_WINDOW');
    expect(message).toContain('PORT');
    expect(message).not.toContain('short-secret');
  });

  it('refuses to start in production without API keys unless anonymous access is chosen explicitly', () => {
    expect(() => loadOrderApiConfig(PROD)).toThrow(/API_KEYS/);
    expect(loadOrderApiConfig({ ...PROD, API_KEYS: 'key-one-0123456789abcdef' }).API_KEYS).toHaveLength(1);
    expect(loadOrderApiConfig({ ...PROD, ALLOW_ANONYMOUS: 'true' }).API_KEYS).toEqual([]);
  });

  it('refuses to start in production without its own unsubscribe secret, or with a short one', () => {
    const keys = { API_KEYS: 'key-one-0123456789abcdef' };
    expect(() => loadOrderApiConfig({ NODE_ENV: 'production', ...keys })).toThrow(
      /UNSUBSCRIBE_SECRET is required in production/,
    );
    expect(() =>
      loadOrderApiConfig({
        ...PROD,
        ...keys,
        UNSUBSCRIBE_SECRET: 'dev-only-unsubscribe-secret-0123456789abcdef',
      }),
    ).toThrow(/UNSUBSCRIBE_SECRET is an example placeholder/);
    expect(() => loadOrderApiConfig({ ...keys, UNSUBSCRIBE_SECRET: 'too-short' })).toThrow(
      /UNSUBSCRIBE_SECRET/,
    );
  });

  it('names clients, adds the keys of API_KEYS_FILE, and gives API_OPERATORS the operator scope', () => {
    const file = join(dir, 'keys');
    writeFileSync(
      file,
      '# from the secrets manager\nshop-us=us-key-0123456789abcdef\nops=ops-key-0123456789abcdef\n',
    );
    const c = loadOrderApiConfig({
      API_KEYS: 'shop-eu=eu-key-0123456789abcdef',
      API_KEYS_FILE: file,
      API_OPERATORS: 'ops',
    });
    expect(c.clients.map(({ id, scopes }) => ({ id, scopes }))).toEqual([
      { id: 'shop-eu', scopes: [] },
      { id: 'shop-us', scopes: [] },
      { id: 'ops', scopes: ['operator'] },
    ]);
  });

  it('names API_OPERATORS when it lists no client, and API_KEYS_FILE when it is missing, without values', () => {
    expect(() => loadOrderApiConfig({ API_KEYS: 'a=eu-key-0123456789abcdef', API_OPERATORS: 'ops' })).toThrow(
      /API_OPERATORS names no client of API_KEYS: ops/,
    );
    const missing = join(dir, 'no-such-file');
    let message = '';
    try {
      loadOrderApiConfig({ API_KEYS_FILE: missing });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/API_KEYS_FILE cannot be read/);
    expect(message).not.toContain(missing);
    expect(() =>
      loadOrderApiConfig({ API_KEYS: 'a=eu-key-0123456789abcdef,a=us-key-0123456789abcdef' }),
    ).toThrow(/API_KEYS is invalid \(the client a is listed twice\)/);
  });

  it("in production, refuses the examples' placeholder keys and passwords, naming the variable only", () => {
    const prod = PROD;
    const keyErr = () =>
      loadOrderApiConfig({ ...prod, API_KEYS: 'CHANGE-ME-comma-separated-keys-of-16-characters-or-more' });
    expect(keyErr).toThrow(/API_KEYS is an example placeholder or sandbox value/);
    expect(keyErr).not.toThrow(/comma-separated-keys/);
    expect(() => loadOrderApiConfig({ ...prod, API_KEYS: 'shop=dev-only-api-key-0123456789' })).toThrow(
      /API_KEYS is/,
    );
    expect(() =>
      loadOrderApiConfig({
        ...prod,
        API_KEYS: 'shop=real-key-0123456789abcdef',
        DATABASE_URL: 'postgres://order_api:CHANGE-ME@db.internal:5432/notify',
      }),
    ).toThrow(/DATABASE_URL is an example placeholder/);
    const file = join(dir, 'placeholder-keys');
    writeFileSync(file, 'shop=CHANGE-ME-0123456789abcdef\n');
    expect(() => loadOrderApiConfig({ ...prod, API_KEYS_FILE: file })).toThrow(/API_KEYS_FILE is an example/);
    expect(loadOrderApiConfig({ API_KEYS: 'shop=CHANGE-ME-0123456789abcdef' }).clients).toHaveLength(1);
  });

  it('reads TRUST_PROXY as off, a hop count or CIDRs, and refuses trusting every hop in production', () => {
    expect(loadOrderApiConfig({}).TRUST_PROXY).toBe(false);
    expect(loadOrderApiConfig({ TRUST_PROXY: '2' }).TRUST_PROXY).toBe(2);
    expect(loadOrderApiConfig({ TRUST_PROXY: '10.0.0.0/8, 192.168.1.1' }).TRUST_PROXY).toEqual([
      '10.0.0.0/8',
      '192.168.1.1',
    ]);
    expect(() => loadOrderApiConfig({ TRUST_PROXY: '10.0.0.0/33' })).toThrow(/TRUST_PROXY/);
    expect(() => loadOrderApiConfig({ TRUST_PROXY: 'everyone' })).toThrow(/TRUST_PROXY/);
    expect(loadOrderApiConfig({ TRUST_PROXY: 'true' }).TRUST_PROXY).toBe(true);
    expect(() =>
      loadOrderApiConfig({
        ...PROD,
        API_KEYS: 'a=a-key-0123456789abcdef',
        TRUST_PROXY: 'true',
      }),
    ).toThrow(/TRUST_PROXY true trusts every X-Forwarded-For hop/);
    expect(() =>
      loadOrderApiConfig({ API_KEYS: 'a=a-key-0123456789abcdef', API_TRUSTED_FORWARDERS: 'b' }),
    ).toThrow(/API_TRUSTED_FORWARDERS name no client of API_KEYS: b/);
  });
});

const PROD = { NODE_ENV: 'production', UNSUBSCRIBE_SECRET: 'a-real-unsubscribe-secret-0123456789abcdef' };
const dir = mkdtempSync(join(tmpdir(), 'order-api-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
