import { fileURLToPath } from 'node:url';
import { SERVICE_CATALOGUE } from '@notify/contracts';
import {
  channelConsumer,
  Counter,
  RetentionSweeper,
  settledFates,
  startService,
  WINDOW_PREFETCH,
} from '@notify/service-kit';
import type { RunningService, StartOptions } from '@notify/service-kit';
import { AmqpAssessmentEvents } from './adapters/amqp-assessment-events.js';
import { PgAssessmentRepository } from './adapters/pg-assessment-repository.js';
import { assessOrder, assessOrders } from './assess-order.js';
import { loadFraudConfig } from './config.js';
import type { FraudConfig } from './config.js';
import { assessmentFate } from './fate.js';

/** Starts the fraud service: consumes the `fraud` queue and assesses each order once. */
export function startFraudService(
  env: NodeJS.ProcessEnv = process.env,
  options: StartOptions = {},
): Promise<RunningService<FraudConfig>> {
  return startService(
    {
      service: SERVICE_CATALOGUE.fraud,
      defaultPrefetch: WINDOW_PREFETCH,
      migrationsDir: fileURLToPath(new URL('../migrations', import.meta.url)),
      config: (e) => loadFraudConfig(e),
      setup: async ({ config, pool, publisher, registry, logger }) => {
        const { rules } = config;
        logger.info({ rulesFile: config.rulesFile, rulesVersion: rules.version }, 'fraud rules loaded');
        const decisions = new Counter({
          name: 'fraud_assessments_total',
          help: 'Orders assessed (first delivery only), by decision',
          labelNames: ['decision'],
          registers: [registry],
        });
        const deps = {
          repository: new PgAssessmentRepository(pool),
          events: new AmqpAssessmentEvents(publisher),
          rules,
          decisions: { assessed: (decision: string) => decisions.inc({ decision }) },
        };
        // The velocity history holds pseudonymised contact digests: kept as long as useful, no longer.
        const retention = new RetentionSweeper({
          pool,
          rules: [
            {
              name: 'observations',
              table: 'observations',
              olderThan: 'observed_at < $1',
              maxAgeMs: config.historyRetentionMs,
            },
          ],
          intervalMs: config.retentionIntervalMs,
          logger,
          registry,
        });
        return {
          consumers: [
            channelConsumer('fraud', {
              handle: async ({ payload, ctx }) => assessmentFate(await assessOrder(payload, ctx, deps)),
              window: {
                handle: async (deliveries) =>
                  settledFates(
                    await assessOrders(
                      deliveries.map((d) => ({ order: d.payload, meta: d.ctx })),
                      deps,
                    ),
                    assessmentFate,
                  ),
              },
            }),
          ],
          tasks: [retention],
          // What the running process actually scores with, for an operator checking a rollout.
          routes: (app) => {
            app.get('/rules', async () => ({ file: config.rulesFile, rules }));
          },
        };
      },
    },
    env,
    options,
  );
}
