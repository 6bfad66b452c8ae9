import { afterEach, describe, expect, it, vi } from 'vitest';
import { assertNotProduction } from './production-guard.js';

describe('assertNotProduction', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('refuses with NODE_ENV=production, naming the tool and the variable', () => {
    expect(() => assertNotProduction('mail-catcher', { NODE_ENV: 'production' })).toThrow(
      'mail-catcher is a development and test stand-in and refuses to start with NODE_ENV=production',
    );
  });

  it('lets development, test and an unset NODE_ENV through', () => {
    for (const env of [{ NODE_ENV: 'development' }, { NODE_ENV: 'test' }, {}]) {
      expect(() => assertNotProduction('mail-catcher', env)).not.toThrow();
    }
  });

  it("reads the process's own environment when given none", () => {
    vi.stubEnv('NODE_ENV', 'production');
    expect(() => assertNotProduction('whatsapp-sandbox')).toThrow(
      /refuses to start with NODE_ENV=production/,
    );
  });
});
