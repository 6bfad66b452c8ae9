import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { PermanentError } from '@notify/messaging';
import type { RetryPolicy } from '@notify/messaging';
import { startConsumerService } from '@notify/service-kit';
import type { Logger, RunningService } from '@notify/service-kit';
import { PublishedShipmentEvents } from './adapters/shipment-events.js';
import { PgShipmentRepository } from './adapters/shipment-repository.js';
import { loadLogisticConfig } from './config.js';
import type { LogisticConfig } from './config.js';
import { createShipment } from './create-shipment.js';

export interface LogisticServiceOptions {
  readonly logger?: Logger;
  /**
   * The time a delivery estimate starts from. The logistic message carries no order
   * time, so it is the time the shipment is created (tests pin it).
   */
  readonly now?: () => Date;
  readonly retry?: Partial<RetryPolicy>;
}

export const LOGISTIC_DEFAULT_PORT = 3003;

export function startLogisticService(
  env: NodeJS.ProcessEnv = process.env,
  opts: LogisticServiceOptions = {},
): Promise<RunningService<LogisticConfig>> {
  return startConsumerService(
    {
      name: 'logistic',
      channel: 'logistic',
      defaultPort: LOGISTIC_DEFAULT_PORT,
      migrationsDir: fileURLToPath(new URL('../migrations', import.meta.url)),
      ...(opts.retry ? { retry: opts.retry } : {}),
      config: (e) => loadLogisticConfig(e),
      setup: async ({ config, pool, publisher, logger }) => {
        logger.info(
          { rulesFile: config.rulesFile, zones: config.rules.zones.length, rules: config.rules.rules.length },
          'shipping rules loaded',
        );
        const deps = {
          rules: config.rules,
          repository: new PgShipmentRepository(pool),
          events: new PublishedShipmentEvents(publisher),
          now: opts.now ?? (() => new Date()),
          newId: randomUUID,
        };
        return {
          handle: async ({ payload, ctx }) => {
            const outcome = await createShipment(
              payload,
              { messageId: ctx.messageId, traceparent: ctx.traceparent, orderedAt: ctx.publishedAt },
              deps,
            );
            const log = ctx.logger;
            if (outcome.kind === 'rejected') {
              const { code, reason } = outcome.rejection;
              log?.warn({ code, reason }, 'order cannot be shipped');
              throw new PermanentError(`order cannot be shipped: ${reason}`, { detail: code });
            }
            const s = outcome.shipment;
            log?.info(
              {
                shipmentId: s.id,
                carrier: s.carrierId,
                serviceLevel: s.serviceLevel,
                trackingNumber: s.trackingNumber,
                estimatedDelivery: s.estimatedDelivery,
              },
              outcome.kind === 'created'
                ? 'shipment created'
                : 'shipment already existed; event re-published',
            );
          },
        };
      },
    },
    env,
    opts.logger ? { logger: opts.logger } : {},
  );
}
