import { fileURLToPath } from 'node:url';
import { SERVICE_CATALOGUE } from '@notify/contracts';
import { channelConsumer, PgPreferenceCopy, preferenceCopyConsumer, startService } from '@notify/service-kit';
import type { RunningService, ServiceParts, StartOptions } from '@notify/service-kit';
import { AmqpMessageEvents } from './adapters/amqp-message-events.js';
import { PgMessageRepository } from './adapters/pg-message-repository.js';
import { PgPhoneOptOuts } from './adapters/pg-phone-opt-outs.js';
import { TwilioWhatsappSender } from './adapters/twilio-whatsapp-sender.js';
import { INBOUND_PATH, loadWhatsappConfig, STATUS_CALLBACK_PATH } from './config.js';
import type { WhatsappConfig } from './config.js';
import { whatsappFate } from './fate.js';
import { sendOrderWhatsapp } from './send-order-whatsapp.js';
import { inboundMessageRoutes } from './inbound-message-route.js';
import { statusCallbackRoutes } from './status-callback-route.js';

/**
 * Each in-flight send holds a database connection across its call to Twilio (see
 * adapters/pg-message-repository.ts); staying below the pool's 10 connections leaves
 * room for callbacks.
 */
export const DEFAULT_PREFETCH = 8;

export interface WhatsappParts extends ServiceParts {
  /** The URL Twilio is told to post status callbacks to, and that signatures are checked against. */
  readonly statusCallbackUrl: () => string;
  /** The incoming-message webhook's URL as Twilio signs it. */
  readonly inboundUrl: () => string;
}

export type WhatsappService = RunningService<WhatsappConfig, WhatsappParts> & {
  readonly statusCallbackUrl: string;
  readonly inboundUrl: string;
};

/** Starts the WhatsApp service: consumes the `whatsapp` queue and takes Twilio's status callbacks. */
export async function startWhatsappService(
  env: NodeJS.ProcessEnv = process.env,
  options: StartOptions = {},
): Promise<WhatsappService> {
  const running = await startService<WhatsappConfig, WhatsappParts>(
    {
      service: SERVICE_CATALOGUE.whatsapp,
      defaultPrefetch: DEFAULT_PREFETCH,
      migrationsDir: fileURLToPath(new URL('../migrations', import.meta.url)),
      config: (e, common) => loadWhatsappConfig(e, common),
      setup: async ({ config, pool, publisher, logger, port }) => {
        const log = logger.child({ component: 'whatsapp' });
        if (config.usingSandbox) {
          log.warn(
            { apiBaseUrl: config.apiBaseUrl },
            'sending WhatsApp messages to the local sandbox, not to Twilio',
          );
        }
        log.info({ mode: config.mode, apiBaseUrl: config.apiBaseUrl }, 'WhatsApp sender configured');
        // Without WHATSAPP_STATUS_CALLBACK_URL (development only) callbacks come straight to
        // this process, whose port is bound before the first message is consumed.
        const statusCallbackUrl = () =>
          config.statusCallbackUrl ?? `http://127.0.0.1:${port()}${STATUS_CALLBACK_PATH}`;
        const inboundUrl = () => config.inboundUrl ?? `http://127.0.0.1:${port()}${INBOUND_PATH}`;
        const repository = new PgMessageRepository(pool);
        const events = new AmqpMessageEvents(publisher);
        const preferences = new PgPreferenceCopy(pool, 'whatsapp');
        const optOuts = new PgPhoneOptOuts(pool);
        if (!config.smsFrom) log.warn('no TWILIO_SMS_FROM: numbers WhatsApp cannot reach get no SMS');
        const deps = {
          preferences,
          optOuts,
          smsFallback: config.smsFrom !== undefined,
          sender: new TwilioWhatsappSender({
            accountSid: config.accountSid,
            authToken: config.authToken,
            from: config.from,
            smsFrom: config.smsFrom,
            apiBaseUrl: config.apiBaseUrl,
            timeoutMs: config.requestTimeoutMs,
            limits: config.limits,
          }),
          repository,
          events,
          content: {
            mode: config.mode,
            contentSid: config.contentSid,
            contentSidsByLocale: config.contentSidsByLocale,
          },
          statusCallbackUrl,
        };
        return {
          statusCallbackUrl,
          inboundUrl,
          consumers: [
            channelConsumer('whatsapp', {
              handle: async ({ payload, ctx }) => whatsappFate(await sendOrderWhatsapp(payload, ctx, deps)),
              // A redelivered message whose send is recorded: re-publish its event and ack.
              alreadyProcessed: async (ctx) => {
                const record = await repository.findByMessageId(ctx.messageId);
                if (!record) return false;
                await events.sent(record, ctx);
                return true;
              },
            }),
            preferenceCopyConsumer('whatsapp', preferences),
          ],
          routes: async (app) => {
            await statusCallbackRoutes({
              authToken: config.authToken,
              callbackUrl: statusCallbackUrl,
              repository,
              events,
              logger,
              lateFallback: deps.smsFallback ? deps : undefined,
            })(app);
            await inboundMessageRoutes({ authToken: config.authToken, inboundUrl, optOuts, logger })(app);
          },
        };
      },
    },
    env,
    options,
  );
  return Object.assign(running, {
    statusCallbackUrl: running.parts.statusCallbackUrl(),
    inboundUrl: running.parts.inboundUrl(),
  });
}
