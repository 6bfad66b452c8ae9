import { fileURLToPath } from 'node:url';
import { SERVICE_CATALOGUE } from '@notify/contracts';
import { channelConsumer, settledFates, startService, WINDOW_PREFETCH } from '@notify/service-kit';
import type { Pool, RunningService, StartOptions } from '@notify/service-kit';
import { AmqpPaymentEvents } from './adapters/amqp-payment-events.js';
import { PgPaymentRepository } from './adapters/pg-payment-repository.js';
import { PgSimulatorLedgerRepository } from './adapters/pg-simulator-ledger-repository.js';
import { SimulatedPaymentGateway } from './adapters/simulated-payment-gateway.js';
import { authorizePayment, authorizePayments } from './authorize-payment.js';
import { loadPaymentConfig } from './config.js';
import type { PaymentConfig } from './config.js';
import { paymentFate } from './fate.js';
import type { PaymentGateway } from './payment-gateway.js';

export interface PaymentServiceOptions extends StartOptions {
  /** Wraps the configured gateway, e.g. to observe or interrupt calls in tests. */
  readonly wrapGateway?: (gateway: PaymentGateway) => PaymentGateway;
}

function createGateway(config: PaymentConfig, pool: Pool): PaymentGateway {
  switch (config.gateway) {
    case 'simulated':
      return new SimulatedPaymentGateway(new PgSimulatorLedgerRepository(pool), config.simulator);
  }
}

/** Starts the payment service: consumes the `payment` queue and authorises each order once. */
export function startPaymentService(
  env: NodeJS.ProcessEnv = process.env,
  options: PaymentServiceOptions = {},
): Promise<RunningService<PaymentConfig>> {
  return startService(
    {
      service: SERVICE_CATALOGUE.payment,
      defaultPrefetch: WINDOW_PREFETCH,
      migrationsDir: fileURLToPath(new URL('../migrations', import.meta.url)),
      config: (e, common) => loadPaymentConfig(e, common.NODE_ENV),
      setup: async ({ config, pool, publisher, logger }) => {
        const configured = createGateway(config, pool);
        const gateway = options.wrapGateway ? options.wrapGateway(configured) : configured;
        if (config.gateway === 'simulated') {
          logger.warn(
            { gateway: gateway.name },
            'payments go to the SIMULATED card processor: nothing is charged (PAYMENT_GATEWAY=simulated)',
          );
        }
        const deps = {
          gateway,
          repository: new PgPaymentRepository(pool),
          events: new AmqpPaymentEvents(publisher),
          gatewayTimeoutMs: config.gatewayTimeoutMs,
          now: () => new Date(),
        };
        return {
          consumers: [
            channelConsumer('payment', {
              handle: async ({ payload, ctx }) => paymentFate(await authorizePayment(payload, ctx, deps)),
              window: {
                handle: async (deliveries) =>
                  settledFates(
                    await authorizePayments(
                      deliveries.map((d) => ({ message: d.payload, meta: d.ctx })),
                      deps,
                    ),
                    paymentFate,
                  ),
              },
            }),
          ],
        };
      },
    },
    env,
    options,
  );
}
