import { describe, expect, it } from 'vitest';
import { isDatabaseOutage, isDatabaseUnavailable } from './database-errors.js';

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

describe('isDatabaseOutage', () => {
  it('is an unreachable or stopped database, not contention that resolves itself', () => {
    for (const code of ['ECONNREFUSED', '08006', '57P01', '57P03', '53300', '3D000', '55000']) {
      expect(isDatabaseOutage({ code }), code).toBe(true);
    }
    expect(isDatabaseOutage(new Error('timeout exceeded when trying to connect'))).toBe(true);
    for (const code of ['55P03', '40001', '40P01', '23505', undefined]) {
      expect(isDatabaseOutage({ code, message: 'could not serialize access' }), String(code)).toBe(false);
    }
    expect(isDatabaseOutage(null)).toBe(false);
  });
});
