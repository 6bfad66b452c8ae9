import { fileURLToPath } from 'node:url';
import { SERVICE_CATALOGUE } from '@notify/contracts';
import {
  channelConsumer,
  PgPreferenceCopy,
  preferenceCopyConsumer,
  settledFates,
  startService,
  WINDOW_PREFETCH,
} from '@notify/service-kit';
import type { RunningService, StartOptions } from '@notify/service-kit';
import { AmqpConfirmationEvents } from './adapters/amqp-confirmation-events.js';
import { PgConfirmationRepository } from './adapters/pg-confirmation-repository.js';
import { SmtpMailSender } from './adapters/smtp-mail-sender.js';
import { loadEmailConfig } from './config.js';
import type { EmailConfig } from './config.js';
import { confirmationFate } from './fate.js';
import { composeOrderConfirmation } from './order-confirmation-mail.js';
import { sendOrderConfirmation, sendOrderConfirmations } from './send-order-confirmation.js';

/** Starts the email service: consumes the `email` queue and sends order confirmations. */
export function startEmailService(
  env: NodeJS.ProcessEnv = process.env,
  options: StartOptions = {},
): Promise<RunningService<EmailConfig>> {
  return startService(
    {
      service: SERVICE_CATALOGUE.email,
      defaultPrefetch: WINDOW_PREFETCH,
      migrationsDir: fileURLToPath(new URL('../migrations', import.meta.url)),
      config: (serviceEnv, common) => loadEmailConfig(serviceEnv, common.NODE_ENV),
      setup: async ({ config, pool, publisher, logger }) => {
        const sender = new SmtpMailSender(config, logger);
        logger.info(
          { smtpHost: config.smtp.host, smtpPort: config.smtp.port, poolSize: config.poolSize },
          'smtp transport ready',
        );
        const preferences = new PgPreferenceCopy(pool, 'email');
        const deps = {
          preferences,
          compose: (message: Parameters<typeof composeOrderConfirmation>[0]) =>
            composeOrderConfirmation(message, config),
          repository: new PgConfirmationRepository(pool),
          sender,
          events: new AmqpConfirmationEvents(publisher),
          leaseMs: config.sendLeaseMs,
        };
        return {
          consumers: [
            channelConsumer('email', {
              handle: async ({ payload, ctx }) =>
                confirmationFate(await sendOrderConfirmation(payload, ctx, deps)),
              window: {
                handle: async (deliveries) =>
                  settledFates(
                    await sendOrderConfirmations(
                      deliveries.map((d) => ({ message: d.payload, delivery: d.ctx })),
                      deps,
                    ),
                    confirmationFate,
                  ),
              },
            }),
            preferenceCopyConsumer('email', preferences),
          ],
          close: () => sender.close(),
        };
      },
    },
    env,
    options,
  );
}
