import { fileURLToPath } from 'node:url';
import { PermanentError, RetryableError } from '@notify/messaging';
import type { RetryPolicy } from '@notify/messaging';
import { startConsumerService } from '@notify/service-kit';
import type { Logger, Pool, RunningService } from '@notify/service-kit';
import { PublishedPaymentEvents } from './adapters/payment-events.js';
import { PgPaymentRepository } from './adapters/payment-repository.js';
import { SimulatedCardProcessor } from './adapters/simulated-card-processor.js';
import { PgSimulatorLedger } from './adapters/simulator-ledger.js';
import { authorizePayment } from './authorize-payment.js';
import { loadPaymentConfig } from './config.js';
import type { PaymentConfig } from './config.js';
import type { PaymentGateway } from './payment-gateway.js';

export interface PaymentServiceOptions {
  readonly logger?: Logger;
  readonly retry?: Partial<RetryPolicy>;
  /** Wraps the configured gateway, e.g. to observe or interrupt calls in tests. */
  readonly wrapGateway?: (gateway: PaymentGateway) => PaymentGateway;
}

export const PAYMENT_DEFAULT_PORT = 3004;

function createGateway(config: PaymentConfig, pool: Pool): PaymentGateway {
  switch (config.gateway) {
    case 'simulated':
      return new SimulatedCardProcessor(new PgSimulatorLedger(pool), config.simulator);
  }
}

export function startPaymentService(
  env: NodeJS.ProcessEnv = process.env,
  opts: PaymentServiceOptions = {},
): Promise<RunningService<PaymentConfig>> {
  return startConsumerService(
    {
      name: 'payment',
      channel: 'payment',
      defaultPort: PAYMENT_DEFAULT_PORT,
      migrationsDir: fileURLToPath(new URL('../migrations', import.meta.url)),
      ...(opts.retry ? { retry: opts.retry } : {}),
      config: (e, common) => loadPaymentConfig(e, common.NODE_ENV),
      setup: async ({ config, pool, publisher, logger }) => {
        const configured = createGateway(config, pool);
        const gateway = opts.wrapGateway ? opts.wrapGateway(configured) : configured;
        if (config.gateway === 'simulated') {
          logger.warn(
            { gateway: gateway.name },
            'payments go to the SIMULATED card processor: nothing is charged (PAYMENT_GATEWAY=simulated)',
          );
        }
        const deps = {
          gateway,
          repository: new PgPaymentRepository(pool),
          events: new PublishedPaymentEvents(publisher),
          gatewayTimeoutMs: config.gatewayTimeoutMs,
          now: () => new Date(),
        };
        return {
          handle: async ({ payload, ctx }) => {
            const meta = {
              messageId: ctx.messageId,
              deliveryAttempt: ctx.attempt,
              redelivered: ctx.redelivered,
              traceparent: ctx.traceparent,
            };
            const outcome = await authorizePayment(payload, meta, deps);
            const log = ctx.logger;
            switch (outcome.kind) {
              case 'gateway-error':
                log?.warn(
                  { err: outcome.error, transient: outcome.transient },
                  'payment gateway call failed',
                );
                if (outcome.transient) throw new RetryableError(outcome.error);
                throw new PermanentError(`payment gateway refused the request: ${outcome.error}`, {
                  ...(outcome.code ? { detail: outcome.code } : {}),
                });
              case 'duplicate':
                log?.info(
                  { status: outcome.payment.status },
                  'payment already decided; outcome re-published',
                );
                return;
              case 'authorized':
              case 'declined': {
                const p = outcome.payment;
                log?.info(
                  p.status === 'authorized'
                    ? { authorizationId: p.authorizationId }
                    : { code: p.declineCode },
                  `payment ${p.status}`,
                );
                return;
              }
            }
          },
        };
      },
    },
    env,
    opts.logger ? { logger: opts.logger } : {},
  );
}
