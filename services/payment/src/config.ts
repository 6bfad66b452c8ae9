import { bool, ConfigError, loadConfig, makeValidator, str } from '@notify/service-kit';

export const PAYMENT_GATEWAYS = ['simulated'] as const;
export type PaymentGatewayKind = (typeof PAYMENT_GATEWAYS)[number];

const nonNegativeInt = makeValidator<number>((input: string) => {
  const n = Number(input);
  if (!/^\d+$/.test(input.trim()) || !Number.isSafeInteger(n)) throw new Error('must be a whole number >= 0');
  return n;
});

export interface PaymentConfig {
  readonly gateway: PaymentGatewayKind;
  readonly gatewayTimeoutMs: number;
  readonly simulator: { readonly latencyMs: number; readonly flakyFailures: number };
}

/** The payment service's own variables, validated before anything connects. */
export function loadPaymentConfig(env: NodeJS.ProcessEnv, nodeEnv: string): PaymentConfig {
  const vars = loadConfig(
    {
      PAYMENT_GATEWAY: str({
        choices: [...PAYMENT_GATEWAYS],
        default: 'simulated',
        desc: 'Which card processor adapter to use',
      }),
      PAYMENT_ALLOW_SIMULATOR: bool({
        default: false,
        desc: 'Allow the simulated processor when NODE_ENV=production',
      }),
      PAYMENT_GATEWAY_TIMEOUT_MS: nonNegativeInt({ default: 10_000 }),
      PAYMENT_SIMULATOR_LATENCY_MS: nonNegativeInt({ default: 25 }),
      PAYMENT_SIMULATOR_FLAKY_FAILURES: nonNegativeInt({ default: 2 }),
    },
    env,
  );
  if (vars.PAYMENT_GATEWAY_TIMEOUT_MS < 1) {
    throw new ConfigError({ PAYMENT_GATEWAY_TIMEOUT_MS: 'must be at least 1' });
  }
  // The simulator approves any token without charging anyone: in production that must be a decision.
  if (nodeEnv === 'production' && vars.PAYMENT_GATEWAY === 'simulated' && !vars.PAYMENT_ALLOW_SIMULATOR) {
    throw new ConfigError({
      PAYMENT_ALLOW_SIMULATOR:
        'must be "true" to run with PAYMENT_GATEWAY=simulated in production: the simulated card processor charges nothing',
    });
  }
  return {
    gateway: vars.PAYMENT_GATEWAY as PaymentGatewayKind,
    gatewayTimeoutMs: vars.PAYMENT_GATEWAY_TIMEOUT_MS,
    simulator: {
      latencyMs: vars.PAYMENT_SIMULATOR_LATENCY_MS,
      flakyFailures: vars.PAYMENT_SIMULATOR_FLAKY_FAILURES,
    },
  };
}
