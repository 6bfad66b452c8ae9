import { ConfigError } from '@notify/service-kit';
import { describe, expect, it } from 'vitest';
import { loadPaymentConfig } from './config.js';

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadPaymentConfig', () => {
  it('defaults to the simulated processor outside production', () => {
    expect(loadPaymentConfig({}, 'development')).toEqual({
      gateway: 'simulated',
      gatewayTimeoutMs: 10_000,
      simulator: { latencyMs: 25, flakyFailures: 2 },
    });
  });

  it('reads the gateway timeout and the simulator knobs', () => {
    expect(
      loadPaymentConfig(
        {
          PAYMENT_GATEWAY_TIMEOUT_MS: '1500',
          PAYMENT_SIMULATOR_LATENCY_MS: '0',
          PAYMENT_SIMULATOR_FLAKY_FAILURES: '4',
        },
        'test',
      ),
    ).toMatchObject({ gatewayTimeoutMs: 1500, simulator: { latencyMs: 0, flakyFailures: 4 } });
  });

  it('refuses to run the simulator in production unless PAYMENT_ALLOW_SIMULATOR=true, naming the variable', () => {
    const err = configError(() => loadPaymentConfig({}, 'production'));
    expect(Object.keys(err.variables)).toEqual(['PAYMENT_ALLOW_SIMULATOR']);
    expect(err.message).toContain('PAYMENT_ALLOW_SIMULATOR must be "true"');
    expect(loadPaymentConfig({ PAYMENT_ALLOW_SIMULATOR: 'true' }, 'production').gateway).toBe('simulated');
  });

  it('names an unknown gateway and malformed numbers', () => {
    const err = configError(() =>
      loadPaymentConfig(
        {
          PAYMENT_GATEWAY: 'stripe',
          PAYMENT_SIMULATOR_LATENCY_MS: '-5',
          PAYMENT_SIMULATOR_FLAKY_FAILURES: '1.5',
        },
        'development',
      ),
    );
    expect(Object.keys(err.variables).sort()).toEqual([
      'PAYMENT_GATEWAY',
      'PAYMENT_SIMULATOR_FLAKY_FAILURES',
      'PAYMENT_SIMULATOR_LATENCY_MS',
    ]);
    expect(
      configError(() => loadPaymentConfig({ PAYMENT_GATEWAY_TIMEOUT_MS: '0' }, 'test')).variables,
    ).toEqual({
      PAYMENT_GATEWAY_TIMEOUT_MS: 'must be at least 1',
    });
  });
});
