import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { RetryPolicy } from '@notify/messaging';
import { startConsumerService } from '@notify/service-kit';
import type { RunningService } from '@notify/service-kit';
import type { Logger } from 'pino';
import { createMessageLedger } from './adapters/message-ledger.js';
import { createOutcomeEvents } from './adapters/outcome-events.js';
import { createTwilioProvider } from './adapters/twilio-client.js';
import { loadWhatsappConfig, STATUS_CALLBACK_PATH } from './config.js';
import type { WhatsappConfig } from './config.js';
import { sendOrderWhatsapp } from './send-order-whatsapp.js';
import { statusCallbackRoutes } from './status-callback-route.js';

export const SERVICE_NAME = 'whatsapp';
export const DEFAULT_PORT = 3002;
/**
 * Each in-flight send holds a database connection across its call to Twilio (see
 * message-ledger.ts); staying below the pool's 10 connections leaves room for callbacks.
 */
export const DEFAULT_PREFETCH = 8;

export interface WhatsappServiceOptions {
  readonly logger?: Logger;
  /** Overrides the consumer runner's retry policy (delays, attempts). */
  readonly retry?: Partial<RetryPolicy>;
}

export type WhatsappService = RunningService<WhatsappConfig> & {
  /** The URL Twilio is told to post status callbacks to, and that signatures are checked against. */
  readonly statusCallbackUrl: string;
};

export async function startWhatsappService(
  env: NodeJS.ProcessEnv = process.env,
  options: WhatsappServiceOptions = {},
): Promise<WhatsappService> {
  let boundPort: number | undefined;
  // Without WHATSAPP_STATUS_CALLBACK_URL (development only) callbacks come straight to this
  // process; its port is known once it listens, which is before the first message.
  let callbackUrl = (config: WhatsappConfig): string =>
    config.statusCallbackUrl ?? `http://127.0.0.1:${boundPort ?? 0}${STATUS_CALLBACK_PATH}`;

  const running = await startConsumerService(
    {
      name: SERVICE_NAME,
      channel: 'whatsapp',
      defaultPort: DEFAULT_PORT,
      migrationsDir: fileURLToPath(new URL('../migrations', import.meta.url)),
      ...(options.retry ? { retry: options.retry } : {}),
      config: (e, common) => loadWhatsappConfig(e, common),
      setup: async ({ config, pool, publisher, logger }) => {
        const provider = createTwilioProvider({
          accountSid: config.accountSid,
          authToken: config.authToken,
          from: config.from,
          apiBaseUrl: config.apiBaseUrl,
          timeoutMs: config.requestTimeoutMs,
        });
        const ledger = createMessageLedger(pool);
        const events = createOutcomeEvents(publisher);
        const content = {
          mode: config.mode,
          contentSid: config.contentSid,
          contentSidsByLocale: config.contentSidsByLocale,
        };
        const log = logger.child({ component: 'whatsapp' });
        if (config.usingSandbox) {
          log.warn(
            { apiBaseUrl: config.apiBaseUrl },
            'sending WhatsApp messages to the local sandbox, not to Twilio',
          );
        }
        log.info({ mode: config.mode, apiBaseUrl: config.apiBaseUrl }, 'WhatsApp sender configured');

        return {
          handle: async ({ payload, ctx }) => {
            await sendOrderWhatsapp(
              payload,
              { messageId: ctx.messageId, traceparent: ctx.traceparent, logger: ctx.logger },
              { provider, ledger, events, content, statusCallbackUrl: () => callbackUrl(config) },
            );
          },
          // A redelivered message whose send is recorded: re-publish its event and ack.
          alreadyProcessed: async (ctx) => {
            const record = await ledger.findByMessageId(ctx.messageId);
            if (!record) return false;
            await events.sent(record, ctx);
            return true;
          },
          routes: async (app) => {
            app.addHook('onListen', async () => {
              boundPort = (app.server.address() as AddressInfo).port;
            });
            await statusCallbackRoutes({
              authToken: config.authToken,
              callbackUrl: () => callbackUrl(config),
              ledger,
              events,
              logger,
            })(app);
          },
        };
      },
    },
    { ...env, PREFETCH: env.PREFETCH ?? String(DEFAULT_PREFETCH) },
    options.logger ? { logger: options.logger } : {},
  );
  boundPort = running.port;
  const url = callbackUrl(running.infra.config);
  callbackUrl = () => url;
  return Object.assign(running, { statusCallbackUrl: url });
}
