import { describe, expect, it } from 'vitest';
import { DependencyUnavailableError } from '@notify/messaging';
import { asDependencyOutage, isDatabaseOutage, isDatabaseUnavailable } from './database-errors.js';

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

describe('asDependencyOutage', () => {
  it('turns a database outage, also one wrapped as a cause, into a paused dependency', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    for (const err of [refused, new Error('recording the shipment failed', { cause: refused })]) {
      const out = asDependencyOutage(err);
      expect(out).toBeInstanceOf(DependencyUnavailableError);
      expect(out).toMatchObject({ dependency: 'database', message: 'connect ECONNREFUSED 127.0.0.1:5432' });
    }
    const terminated = new Error('Connection terminated unexpectedly');
    expect(asDependencyOutage(terminated)).toBeInstanceOf(DependencyUnavailableError);
  });

  it('leaves every other failure as it is', () => {
    const bug = new TypeError('x is not a function');
    const duplicate = Object.assign(new Error('duplicate key'), { code: '23505' });
    const twilio = new DependencyUnavailableError('twilio', 'no answer');
    expect(asDependencyOutage(bug)).toBe(bug);
    expect(asDependencyOutage(duplicate)).toBe(duplicate);
    expect(asDependencyOutage(twilio)).toBe(twilio);
  });
});
