import { fileURLToPath } from 'node:url';
import { DEFAULT_RETRY_POLICY } from '@notify/messaging';
import type { RetryPolicy } from '@notify/messaging';
import { startConsumerService } from '@notify/service-kit';
import type { RunningService } from '@notify/service-kit';
import type { Logger } from 'pino';
import { ConfirmationRepository } from './adapters/confirmation-repository.js';
import { outcomePublisher } from './adapters/outcome-publisher.js';
import { createSmtpMailer } from './adapters/smtp-mailer.js';
import { loadEmailConfig } from './config.js';
import type { EmailConfig } from './config.js';
import { composeOrderConfirmation } from './order-confirmation-mail.js';
import { sendOrderConfirmation } from './send-order-confirmation.js';

export const EMAIL_SERVICE_PORT = 3001;

export interface EmailServiceOptions {
  readonly logger?: Logger;
  /** Overrides the consumer's retry policy (tests use short delays). */
  readonly retry?: Partial<RetryPolicy>;
}

/** Starts the email service: consumes the `email` queue and sends order confirmations. */
export function startEmailService(
  env: NodeJS.ProcessEnv = process.env,
  options: EmailServiceOptions = {},
): Promise<RunningService<EmailConfig>> {
  const retry: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
  return startConsumerService(
    {
      name: 'email',
      channel: 'email',
      defaultPort: EMAIL_SERVICE_PORT,
      migrationsDir: fileURLToPath(new URL('../migrations', import.meta.url)),
      retry,
      config: (serviceEnv, common) => loadEmailConfig(serviceEnv, common.NODE_ENV),
      setup: async ({ config, pool, publisher, logger }) => {
        const mailer = createSmtpMailer(config, logger);
        const deps = {
          compose: (message: Parameters<typeof composeOrderConfirmation>[0]) =>
            composeOrderConfirmation(message, config),
          log: new ConfirmationRepository(pool),
          mailer,
          outcomes: outcomePublisher(publisher),
          maxAttempts: retry.maxAttempts,
          leaseMs: config.sendLeaseMs,
        };
        logger.info(
          { smtpHost: config.smtp.host, smtpPort: config.smtp.port, poolSize: config.poolSize },
          'smtp transport ready',
        );
        return {
          handle: ({ payload, ctx }) => sendOrderConfirmation(payload, ctx, deps),
          close: () => mailer.close(),
        };
      },
    },
    env,
    options.logger ? { logger: options.logger } : {},
  );
}
