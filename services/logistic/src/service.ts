import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { SERVICE_CATALOGUE } from '@notify/contracts';
import { channelConsumer, settledFates, startService, WINDOW_PREFETCH } from '@notify/service-kit';
import type { RunningService, StartOptions } from '@notify/service-kit';
import { AmqpShipmentEvents } from './adapters/amqp-shipment-events.js';
import { PgShipmentRepository } from './adapters/pg-shipment-repository.js';
import { loadLogisticConfig } from './config.js';
import type { LogisticConfig } from './config.js';
import { createShipment, createShipments } from './create-shipment.js';
import { shipmentFate } from './fate.js';

export interface LogisticServiceOptions extends StartOptions {
  /**
   * The time a shipment is created, and the estimate's start when the message carries no
   * publish time (tests pin it).
   */
  readonly now?: () => Date;
}

/** Starts the logistic service: consumes the `logistic` queue and ships each order once. */
export function startLogisticService(
  env: NodeJS.ProcessEnv = process.env,
  options: LogisticServiceOptions = {},
): Promise<RunningService<LogisticConfig>> {
  return startService(
    {
      service: SERVICE_CATALOGUE.logistic,
      defaultPrefetch: WINDOW_PREFETCH,
      migrationsDir: fileURLToPath(new URL('../migrations', import.meta.url)),
      config: (e) => loadLogisticConfig(e),
      setup: async ({ config, pool, publisher, logger }) => {
        logger.info(
          { rulesFile: config.rulesFile, zones: config.rules.zones.length, rules: config.rules.rules.length },
          'shipping rules loaded',
        );
        const deps = {
          rules: config.rules,
          repository: new PgShipmentRepository(pool),
          events: new AmqpShipmentEvents(publisher),
          now: options.now ?? (() => new Date()),
          newId: randomUUID,
        };
        return {
          consumers: [
            channelConsumer('logistic', {
              handle: async ({ payload, ctx }) => shipmentFate(await createShipment(payload, ctx, deps)),
              window: {
                handle: async (deliveries) =>
                  settledFates(
                    await createShipments(
                      deliveries.map((d) => ({ message: d.payload, meta: d.ctx })),
                      deps,
                    ),
                    shipmentFate,
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
