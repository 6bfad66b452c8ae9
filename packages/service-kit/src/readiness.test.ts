import { describe, expect, it } from 'vitest';
import { Readiness } from './readiness.js';

describe('Readiness', () => {
  it('is ready when every check passes', async () => {
    const r = new Readiness({ broker: () => true, database: async () => true });
    expect(await r.report()).toEqual({ status: 'ready', checks: { broker: true, database: true } });
  });

  it('is not ready when a required check fails or throws, and names every result', async () => {
    const r = new Readiness({
      broker: () => true,
      database: async () => {
        throw new Error('connect ECONNREFUSED');
      },
    });
    expect(await r.report()).toEqual({ status: 'not ready', checks: { broker: true, database: false } });
  });

  it('is degraded, still ready, when only a reported check fails', async () => {
    const r = new Readiness({ broker: () => false, database: () => true }).reportOnly(['broker']);
    expect(await r.report()).toEqual({ status: 'degraded', checks: { broker: false, database: true } });
    r.add('smtp', { probe: () => false, required: true });
    expect((await r.report()).status).toBe('not ready');
  });

  it('refuses a check registered twice under one name', () => {
    expect(() => new Readiness({ database: () => true }).add('database', () => true)).toThrow(/twice/);
  });
});
