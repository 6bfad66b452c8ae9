import { fileURLToPath } from 'node:url';
import { Counter, RetentionSweeper, startConsumerService } from '@notify/service-kit';
import type { ConsumerServiceDefinition, RunningService } from '@notify/service-kit';
import type { Logger } from 'pino';
import { AssessmentRepository } from './adapters/assessment-repository.js';
import { publisherEvents } from './adapters/assessment-events.js';
import { assessOrder } from './assess-order.js';
import { loadFraudConfig } from './config.js';
import type { FraudConfig } from './config.js';

export const fraudService: ConsumerServiceDefinition<'fraud', FraudConfig> = {
  name: 'fraud',
  channel: 'fraud',
  defaultPort: 3005,
  migrationsDir: fileURLToPath(new URL('../migrations', import.meta.url)),
  config: (env) => loadFraudConfig(env),
  setup: async ({ config, pool, publisher, registry, logger }) => {
    const { rules } = config;
    // fraud.assessed is published mandatory; the service kit declares the order API's
    // events queue and its binding before consuming, as it does for every channel. Only
    // that much: its dead-letter and retry queues are the order API's to declare, and the
    // broker user fraud runs as in production may not (infra/rabbitmq/definitions.json).
    const store = new AssessmentRepository(pool);
    const decisions = new Counter({
      name: 'fraud_assessments_total',
      help: 'Orders assessed (first delivery only), by decision',
      labelNames: ['decision'],
      registers: [registry],
    });
    logger.info({ rulesFile: config.rulesFile, rulesVersion: rules.version }, 'fraud rules loaded');
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
    retention.start();

    return {
      handle: async ({ payload, ctx }) => {
        const { stored, created } = await assessOrder(payload, ctx.messageId, {
          store,
          events: publisherEvents(publisher, ctx.traceparent),
          rules,
        });
        if (created) decisions.inc({ decision: stored.decision });
        ctx.logger?.info(
          {
            score: stored.score,
            decision: stored.decision,
            rules: stored.rules.map((r) => r.id),
            rulesVersion: stored.rulesVersion,
            duplicate: !created,
          },
          created ? 'order assessed' : 'order already assessed; assessment re-published',
        );
      },
      routes: (app) => {
        // What the running process actually scores with, for an operator checking a rollout.
        app.get('/rules', async () => ({ file: config.rulesFile, rules }));
      },
      close: () => retention.stop(),
    };
  },
};

export function startFraudService(
  env: NodeJS.ProcessEnv = process.env,
  opts: { logger?: Logger } = {},
): Promise<RunningService<FraudConfig>> {
  return startConsumerService(fraudService, env, opts);
}
