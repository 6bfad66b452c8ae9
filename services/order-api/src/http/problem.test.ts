import { describe, expect, it } from 'vitest';
import { isDatabaseUnavailable, problemFor } from './problem.js';

describe('isDatabaseUnavailable', () => {
  it('recognises connection, shutdown and contention failures', () => {
    for (const code of [
      'ECONNREFUSED',
      '08006',
      '57P01',
      '57P03',
      '53300',
      '3D000',
      '55000',
      '40001',
      '40P01',
    ]) {
      expect(isDatabaseUnavailable({ code }), code).toBe(true);
    }
    expect(isDatabaseUnavailable(new Error('timeout exceeded when trying to connect'))).toBe(true);
    expect(isDatabaseUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
  });

  it('does not take programming errors for an outage', () => {
    for (const code of ['42601', '23505', '22P02', undefined]) {
      expect(isDatabaseUnavailable({ code, message: 'syntax error' }), String(code)).toBe(false);
    }
    expect(isDatabaseUnavailable(null)).toBe(false);
  });
});

describe('problemFor', () => {
  it('turns unexpected errors into a bare 500 without their message', () => {
    const p = problemFor(new Error('relation "secret_table" does not exist'));
    expect(p.status).toBe(500);
    expect(p.options.detail).not.toContain('secret_table');
  });

  it('answers 503 with Retry-After when the database is unavailable', () => {
    const p = problemFor(
      Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:5432'), { code: 'ECONNREFUSED' }),
    );
    expect(p.status).toBe(503);
    expect(p.options.headers).toEqual({ 'retry-after': '5' });
    expect(p.options.detail).not.toContain('10.0.0.5');
  });
});
