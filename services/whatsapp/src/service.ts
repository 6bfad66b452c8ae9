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
import type { RunningService, ServiceParts, StartOptions } from '@notify/service-kit';
import { AmqpMessageEvents } from './adapters/amqp-message-events.js';
import { PgMessageRepository } from './adapters/pg-message-repository.js';
import { PgPhoneOptOuts } from './adapters/pg-phone-opt-outs.js';
import { TwilioWhatsappSender } from './adapters/twilio-whatsapp-sender.js';
import { INBOUND_PATH, loadWhatsappConfig, STATUS_CALLBACK_PATH } from './config.js';
import type { WhatsappConfig } from './config.js';
import { whatsappFate } from './fate.js';
import { sendOrderWhatsapp, sendOrderWhatsapps } from './send-order-whatsapp.js';
import { inboundMessageRoutes } from './inbound-message-route.js';
import { statusCallbackRoutes } from './status-callback-route.js';

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
      // No send holds a database connection across its call to Twilio any more, and the
      // sender keeps TWILIO_CONCURRENCY and TWILIO_MAX_PER_SECOND whatever the prefetch, so
      // the window services' prefetch applies: 64 unacked, windows of 32.
      defaultPrefetch: WINDOW_PREFETCH,
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
        const repository = new PgMessageRepository(pool, { fallbackLeaseMs: config.sendLeaseMs });
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
          leaseMs: config.sendLeaseMs,
          requestTimeoutMs: config.requestTimeoutMs,
        };
        // A WhatsApp message Twilio reports failed later (callback) falls back to SMS too.
        const lateFallback = deps.smsFallback ? deps : undefined;
        const sendDeps = { ...deps, lateFallback };
        return {
          statusCallbackUrl,
          inboundUrl,
          consumers: [
            channelConsumer('whatsapp', {
              handle: async ({ payload, ctx }) =>
                whatsappFate(await sendOrderWhatsapp(payload, ctx, sendDeps)),
              // The claims are the idempotency check (one query for the window): an order
              // whose message is recorded re-publishes its whatsapp.sent and sends nothing.
              window: {
                handle: async (deliveries) =>
                  settledFates(
                    await sendOrderWhatsapps(
                      deliveries.map((d) => ({ message: d.payload, meta: d.ctx })),
                      sendDeps,
                    ),
                    whatsappFate,
                  ),
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
              lateFallback,
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
