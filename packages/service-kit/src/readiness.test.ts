import { describe, expect, it } from 'vitest';
import { Readiness } from './readiness.js';

describe('Readiness', () => {
  it('answers probes that come while a report is being made with that report, one check run for all', async () => {
    let runs = 0;
    let answer: (ok: boolean) => void = () => undefined;
    const r = new Readiness({
      database: () => {
        runs++;
        return new Promise<boolean>((resolve) => (answer = resolve));
      },
    });
    const flood = Array.from({ length: 50 }, () => r.report());
    answer(true);
    const reports = await Promise.all(flood);
    expect(runs).toBe(1);
    expect(new Set(reports.map((x) => x.status))).toEqual(new Set(['ready']));
    // Once answered, the next probe checks again.
    const next = r.report();
    answer(false);
    expect((await next).status).toBe('not ready');
    expect(runs).toBe(2);
  });

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

  it('says why a check failed when its probe gave a reason', async () => {
    const r = new Readiness({
      broker: () => true,
      consumer: () => ({ ok: false, reason: 'database unavailable: connection refused' }),
      database: () => false,
    });
    expect(await r.report()).toEqual({
      status: 'not ready',
      checks: { broker: true, consumer: false, database: false },
      reasons: { consumer: 'database unavailable: connection refused' },
    });
  });

  it('refuses a check registered twice under one name', () => {
    expect(() => new Readiness({ database: () => true }).add('database', () => true)).toThrow(/twice/);
  });
});
