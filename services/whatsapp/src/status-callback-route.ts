import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { STATUS_CALLBACK_PATH } from './config.js';
import { MalformedCallbackError, recordStatusCallback } from './record-status-callback.js';
import type { StatusRepository } from './record-status-callback.js';
import type { LateFallbackDeps } from './late-sms-fallback.js';
import type { MessageEvents } from './send-order-whatsapp.js';
import { problem, registerTwilioWebhook } from './twilio-webhook.js';

export { CALLBACK_BODY_LIMIT, parseForm } from './twilio-webhook.js';
export type { FormParams } from './twilio-webhook.js';

export interface StatusCallbackRouteDeps {
  readonly authToken: string;
  /** The URL as Twilio sees it (what it signed), not as this process receives it behind a proxy. */
  readonly callbackUrl: () => string;
  readonly repository: StatusRepository;
  readonly events: MessageEvents;
  readonly logger: Logger;
  /** The SMS fallback for WhatsApp messages reported failed; undefined without an SMS sender. */
  readonly lateFallback?: LateFallbackDeps | undefined;
}

/**
 * POST /twilio/status: Twilio's message status callbacks. The signature is checked against
 * the configured public URL with the SDK's validator before anything else is read; an
 * unsigned or wrongly signed request gets 403 and changes nothing.
 */
export function statusCallbackRoutes(deps: StatusCallbackRouteDeps) {
  const log = deps.logger.child({ component: 'status-callback' });
  return async (app: FastifyInstance) => {
    await registerTwilioWebhook(app, {
      path: STATUS_CALLBACK_PATH,
      authToken: deps.authToken,
      url: deps.callbackUrl,
      log,
      what: 'status callback',
      handle: async (fields, _req, reply) => {
        try {
          const outcome = await recordStatusCallback(fields, {
            repository: deps.repository,
            events: deps.events,
            logger: log,
            lateFallback: deps.lateFallback,
          });
          // 202: parked until the send that created the message commits; nothing published yet.
          return reply.code(outcome === 'unmatched' ? 202 : 204).send();
        } catch (err) {
          if (err instanceof MalformedCallbackError) return problem(reply, 400, 'Bad Request', err.message);
          log.error({ err }, 'could not record or publish a status callback');
          // Twilio (and the sandbox) may try again; the stored status is re-published then.
          return problem(
            reply,
            503,
            'Service Unavailable',
            'the status could not be recorded or published; try again',
          );
        }
      },
    });
  };
}
