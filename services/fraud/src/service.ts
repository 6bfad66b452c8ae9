import { fileURLToPath } from 'node:url';
import { ALL_EXCHANGES, orderEventsConsumer } from '@notify/contracts';
import { Counter, startConsumerService } from '@notify/service-kit';
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
  setup: async ({ config, pool, broker, publisher, registry, logger }) => {
    const { rules } = config;
    // fraud.assessed is published mandatory: with no queue bound on order.events it would
    // come back unroutable and be retried until dead-lettered. Declaring the order API's
    // queue (idempotent, from the contract) keeps the events when the API is not up yet.
    await broker.addTopology({
      // The exchanges too: a binding to an exchange not declared yet fails the whole declaration.
      exchanges: ALL_EXCHANGES,
      queues: [
        orderEventsConsumer.queue,
        orderEventsConsumer.deadLetterQueue,
        ...orderEventsConsumer.retryQueues,
      ],
      bindings: orderEventsConsumer.bindings,
    });
    const store = new AssessmentRepository(pool);
    const decisions = new Counter({
      name: 'fraud_assessments_total',
      help: 'Orders assessed (first delivery only), by decision',
      labelNames: ['decision'],
      registers: [registry],
    });
    logger.info({ rulesFile: config.rulesFile, rulesVersion: rules.version }, 'fraud rules loaded');

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
    };
  },
};

export function startFraudService(
  env: NodeJS.ProcessEnv = process.env,
  opts: { logger?: Logger } = {},
): Promise<RunningService<FraudConfig>> {
  return startConsumerService(fraudService, env, opts);
}
