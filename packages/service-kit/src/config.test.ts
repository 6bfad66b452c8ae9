import { describe, expect, it } from 'vitest';
import { commonSpecs, ConfigError, loadConfig, topologyMode } from './config.js';

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
