import { describe, expect, it } from 'vitest';
import {
  commonSpecs,
  ConfigError,
  isPlaceholderSecret,
  loadConfig,
  refusePlaceholderSecrets,
  topologyMode,
} from './config.js';

const specs = commonSpecs({ defaultPort: 3001, database: 'notify' });

describe('TOPOLOGY', () => {
  it('declares by default outside production and verifies by default in production', () => {
    expect(topologyMode(loadConfig(specs, {}))).toBe('declare');
    expect(topologyMode(loadConfig(specs, { NODE_ENV: 'test' }))).toBe('declare');
    expect(topologyMode(loadConfig(specs, { NODE_ENV: 'production' }))).toBe('verify');
  });

  it('does what it says whatever the environment', () => {
    expect(topologyMode(loadConfig(specs, { TOPOLOGY: 'verify' }))).toBe('verify');
    expect(topologyMode(loadConfig(specs, { NODE_ENV: 'production', TOPOLOGY: 'declare' }))).toBe('declare');
  });

  it('refuses any other value, naming the variable', () => {
    expect(() => loadConfig(specs, { TOPOLOGY: 'create' })).toThrow(ConfigError);
    expect(() => loadConfig(specs, { TOPOLOGY: 'create' })).toThrow(/TOPOLOGY is invalid/);
  });
});

describe('placeholder secrets', () => {
  it("knows the examples' and sandboxes' values, also inside URLs, and nothing else", () => {
    for (const v of [
      'CHANGE-ME',
      'amqp://email:CHANGE-ME@notify-rabbitmq:5672/notify',
      'postgres://u:change%2Dme@db/notify',
      'dev-only-api-key-0123456789',
      'sandbox-dev-auth-token-not-secret',
      'AC0123456789abcdef0123456789abcdef',
      '+15005550006',
    ]) {
      expect(isPlaceholderSecret(v), v).toBe(true);
    }
    for (const v of [
      undefined,
      '',
      'a-real-key-0123456789',
      'postgres://u:s3cret@db/notify',
      '+447700900123',
    ]) {
      expect(isPlaceholderSecret(v), String(v)).toBe(false);
    }
  });

  it('refuses them only in production, naming the variables and not the values', () => {
    expect(() => refusePlaceholderSecrets('development', { A: 'CHANGE-ME' })).not.toThrow();
    let err: unknown;
    try {
      refusePlaceholderSecrets('production', { A: 'CHANGE-ME-a', B: 'fine-value', C: 'dev-only-c' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect(Object.keys((err as ConfigError).variables)).toEqual(['A', 'C']);
    expect((err as Error).message).not.toContain('CHANGE-ME-a');
  });
});
