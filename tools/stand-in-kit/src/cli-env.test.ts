import { describe, expect, it } from 'vitest';
import { ConfigError, readLogLevel, readPort } from './cli-env.js';

describe('readLogLevel', () => {
  it('is info when LOG_LEVEL is unset or blank', () => {
    expect(readLogLevel({})).toBe('info');
    expect(readLogLevel({ LOG_LEVEL: '  ' })).toBe('info');
  });

  it('takes any pino level, trimmed', () => {
    expect(readLogLevel({ LOG_LEVEL: ' debug ' })).toBe('debug');
    expect(readLogLevel({ LOG_LEVEL: 'silent' })).toBe('silent');
  });

  it('refuses anything else with a ConfigError that lists the levels', () => {
    expect(() => readLogLevel({ LOG_LEVEL: 'loud' })).toThrow(ConfigError);
    expect(() => readLogLevel({ LOG_LEVEL: 'loud' })).toThrow(
      'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "loud"',
    );
  });
});

describe('readPort', () => {
  it('is the fallback when the variable is unset or blank', () => {
    expect(readPort({}, 'HTTP_PORT', 8025)).toBe(8025);
    expect(readPort({ HTTP_PORT: ' ' }, 'HTTP_PORT', 8025)).toBe(8025);
  });

  it('takes 0, for any free port, up to 65535', () => {
    expect(readPort({ HTTP_PORT: '0' }, 'HTTP_PORT', 8025)).toBe(0);
    expect(readPort({ HTTP_PORT: ' 65535 ' }, 'HTTP_PORT', 8025)).toBe(65535);
  });

  it('refuses a value that is no port with a ConfigError naming the variable and the value', () => {
    for (const value of ['http', '-1', '65536', '80.5']) {
      expect(() => readPort({ HTTP_PORT: value }, 'HTTP_PORT', 8025)).toThrow(ConfigError);
    }
    expect(() => readPort({ HTTP_PORT: 'http' }, 'HTTP_PORT', 8025)).toThrow(
      'HTTP_PORT must be a port number between 0 and 65535, got "http"',
    );
  });
});
